package driver

// Version of the plugin; the build sets it with -ldflags.
var Version = "0.1.0-dev"
