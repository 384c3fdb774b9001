// Package config holds the configuration of one dtle task, the shape that job
// files (HCL), Nomad job JSON and the HTTP API all decode into.
//
// Field names follow the API contract: snake_case, the same in HCL, JSON and
// msgpack (the `codec` tags Nomad uses to hand a task its configuration).
// Defaults live in the driver's hclspec; Defaults fills them in for callers
// that do not go through Nomad's spec decoder (the API, tests).
package config
