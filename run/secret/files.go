package secret

import (
	"path"
	"strings"
)

// secretFileNames are base names of files that hold secrets by their
// purpose: credentials of tools and clouds, key stores, dotenv files.
var secretFileNames = map[string]bool{
	".env": true, ".envrc": true, ".netrc": true, "_netrc": true, ".npmrc": true,
	".pypirc": true, ".git-credentials": true, ".pgpass": true, ".htpasswd": true,
	"credentials.json": true, "application_default_credentials.json": true,
	"token.json": true, "token.pickle": true, ".secrets": true,
	"secrets.json": true, "secrets.yaml": true, "secrets.yml": true, "secrets.toml": true,
	"terraform.tfstate": true,
}

// secretFileExts end names of key and certificate stores.
var secretFileExts = []string{
	".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kdbx", ".ppk", ".tfstate",
}

// secretFilePrefixes start names of SSH keys and Google client secrets.
var secretFilePrefixes = []string{"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "client_secret"}

// secretFilePaths end paths of credentials whose base name alone is too
// common to tell (config, credentials).
var secretFilePaths = []string{".aws/credentials", ".docker/config.json", ".kube/config"}

// envTemplates are dotenv files meant to be shared: they list variables
// without their values.
var envTemplates = map[string]bool{
	".env.example": true, ".env.sample": true, ".env.template": true, ".env.dist": true,
}

// IsSecretFile reports whether the file at p, a slash-separated path
// relative to the top of a work tree, holds secrets by its name, and so
// must not be copied into a run's snapshot: dotenv files (.env, .env.*,
// but not .env.example, .env.sample, .env.template, .env.dist; .envrc),
// SSH keys (id_rsa*, id_ed25519*, ...), key stores (*.pem, *.key, *.p12,
// *.pfx, *.jks, *.keystore, *.kdbx, *.ppk), credentials of tools
// (.netrc, .npmrc, .pypirc, .git-credentials, .pgpass, .htpasswd,
// credentials.json, application_default_credentials.json,
// client_secret*.json, token.json, token.pickle, .aws/credentials,
// .docker/config.json, .kube/config), secrets.{json,yaml,yml,toml},
// .secrets and Terraform state (*.tfstate). Case is ignored.
func IsSecretFile(p string) bool {
	lp := strings.ToLower(p)
	base := path.Base(lp)
	if secretFileNames[base] {
		return true
	}
	if strings.HasPrefix(base, ".env.") && !envTemplates[base] {
		return true
	}
	for _, e := range secretFileExts {
		if strings.HasSuffix(base, e) {
			return true
		}
	}
	for _, pre := range secretFilePrefixes {
		if strings.HasPrefix(base, pre) {
			return true
		}
	}
	for _, s := range secretFilePaths {
		if lp == s || strings.HasSuffix(lp, "/"+s) {
			return true
		}
	}
	return false
}
