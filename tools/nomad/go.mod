module github.com/dtle-io/dtle/tools/nomad

go 1.25.5

replace (
	github.com/Microsoft/go-winio => github.com/endocrimes/go-winio v0.4.13-0.20190628114223-fb47a8b41948
	github.com/hashicorp/hcl => github.com/hashicorp/hcl v1.0.1-nomad-1
)

require (
	github.com/hashicorp/nomad v1.11.2
	github.com/hashicorp/nomad/api v0.0.0-20260211190147-f876384fe3ab
)
