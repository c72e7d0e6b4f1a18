// tools/testenv/gitea: harness module that pins the Gitea release the git-integration tests run
// against. Gitea's go.mod has replace directives, so `go install gitea@version` refuses it; building
// it from this module (which repeats those replaces) works. Blank imports only, no logic.

//go:build tools

package tools

import (
	_ "code.gitea.io/gitea"
)
