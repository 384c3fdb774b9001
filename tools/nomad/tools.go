//go:build tools

// Package tools pins the Nomad agent that development and tests run.
// It is built with: go build -mod=mod -o <dir>/nomad github.com/hashicorp/nomad
package tools

import _ "github.com/hashicorp/nomad"
