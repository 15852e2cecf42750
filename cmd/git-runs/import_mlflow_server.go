package main

import (
	"fmt"
	"os"

	"github.com/gitruns/gitruns/run/importer/mlflowrest"
)

// openMlflowServer returns the source of the MLflow tracking server
// store names when it is a URL (http:// or https://), with the
// credentials and timeout MLflow's clients take from the environment;
// nil when store is no URL. A dry run downloads no artifact, and only
// the experiments asked for (all when none) are searched.
func openMlflowServer(store string, maxArtifact int64, dry bool, experiments []string) (*mlflowrest.Source, error) {
	if !mlflowrest.IsURL(store) {
		return nil, nil
	}
	o, err := mlflowrest.FromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	o.MaxArtifact, o.ListOnly, o.Experiments = maxArtifact, dry, experiments
	return mlflowrest.Open(store, o)
}
