package api

// Nomad node and allocation ids go into the paths of Nomad's URLs
// (/v1/node/<id>, /v1/allocation/<id>) unescaped by Nomad's client, so they
// are checked before any call: "../jobs" would reach another Nomad route.
// Job ids need no check: the client path-escapes them.

// isUUID reports whether id has a Nomad id's form: 36 characters, hex
// digits in groups of 8-4-4-4-12 separated by dashes.
func isUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkID refuses a value of field that is not a Nomad id of kind (node,
// allocation), naming the field.
func checkID(field, kind, id string) error {
	if !isUUID(id) {
		return badRequest("%s %q: not a Nomad %s id (a UUID: 36 characters, hex digits and dashes)", field, id, kind)
	}
	return nil
}
