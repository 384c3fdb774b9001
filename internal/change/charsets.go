package change

import (
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// charsets maps the server's character sets to their encodings, for text
// the binlog carries as the column's bytes. The UTF-8 sets, ascii and
// binary need none. A set missing here (big5, whose Go table differs from
// the server's, armscii8, dec8, geostd8, hp8, keybcs2, macce, swe7) is
// decoded by the destination server (ServerDecoded).
var charsets = map[string]encoding.Encoding{
	"latin1":   charmap.Windows1252, // the server's latin1 is cp1252
	"latin2":   charmap.ISO8859_2,
	"latin5":   charmap.ISO8859_9,
	"latin7":   charmap.ISO8859_13,
	"cp1250":   charmap.Windows1250,
	"cp1251":   charmap.Windows1251,
	"cp1256":   charmap.Windows1256,
	"cp1257":   charmap.Windows1257,
	"cp850":    charmap.CodePage850,
	"cp852":    charmap.CodePage852,
	"cp866":    charmap.CodePage866,
	"greek":    charmap.ISO8859_7,
	"hebrew":   charmap.ISO8859_8,
	"koi8r":    charmap.KOI8R,
	"koi8u":    charmap.KOI8U,
	"macroman": charmap.Macintosh,
	"tis620":   charmap.Windows874,
	"gbk":      simplifiedchinese.GBK,
	"gb2312":   simplifiedchinese.GBK, // EUC-CN, a subset of GBK
	"gb18030":  simplifiedchinese.GB18030,
	"sjis":     japanese.ShiftJIS,
	"cp932":    japanese.ShiftJIS,
	"ujis":     japanese.EUCJP,
	"eucjpms":  japanese.EUCJP,
	"euckr":    korean.EUCKR,
	"ucs2":     unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16":    unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM),
	"utf16le":  unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM),
	"utf32":    utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM),
}

// utf8Charsets hold UTF-8 text already (ascii is a subset; binary is bytes).
var utf8Charsets = map[string]bool{"": true, "utf8": true, "utf8mb3": true, "utf8mb4": true, "ascii": true, "binary": true}

// ServerDecoded reports whether text of charset is left for the
// destination server to decode (CONVERT ... USING), as Go has no encoding
// that matches the server's byte for byte.
func ServerDecoded(charset string) bool {
	cs := strings.ToLower(charset)
	return !utf8Charsets[cs] && charsets[cs] == nil
}

// wideCharsets encode every character, ASCII included, in more than one
// byte.
var wideCharsets = map[string]bool{"ucs2": true, "utf16": true, "utf16le": true, "utf32": true}

// charsetEncoding is the encoding of a server character set; nil for the
// UTF-8 sets, ascii, binary and sets it does not know.
func charsetEncoding(charset string) encoding.Encoding {
	return charsets[strings.ToLower(charset)]
}
