package live

import (
	"os"
	"sync"

	"github.com/gitruns/gitruns/run/secret"
)

// envRedactor knows the values of this process's secret variables: a
// param or tag logged from a script (git runs param api=$OPENAI_API_KEY,
// the Python package's log_param) must not carry them into the run.
var envRedactor = sync.OnceValue(func() *secret.Redactor {
	return secret.NewRedactor(os.Environ())
})

// RedactParam returns v, a param value of key, fit to be recorded: a
// string or array of strings under a key that secret.IsSecretFlag
// ("api_key", "db.password") becomes secret.Redacted, and elsewhere every
// secret in a string, known by value or by shape, is redacted. Other
// values are returned as they are; v itself is not modified.
func RedactParam(key string, v any) any {
	switch v := v.(type) {
	case string:
		if secret.IsSecretFlag(key) {
			return secret.Redacted
		}
		return envRedactor().Redact(v)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = RedactParam(key, s).(string)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = RedactParam(key, e)
		}
		return out
	}
	return v
}

// RedactTag returns v, the value of tag key, fit to be recorded, as
// RedactParam does for a string.
func RedactTag(key, v string) string { return RedactParam(key, v).(string) }

// redactParams returns a copy of m, flattened params, with RedactParam
// applied to its values.
func redactParams(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = RedactParam(k, v)
	}
	return out
}
