// Command dtle is the dtle Nomad task-driver plugin. Nomad starts it from its
// plugin_dir; it is not meant to be run by hand.
package main

import (
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins"

	"github.com/dtle-io/dtle/driver"
)

func main() {
	plugins.Serve(func(logger hclog.Logger) interface{} { return driver.New(logger) })
}
