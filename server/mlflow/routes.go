package mlflow

// routes maps the routes below the API prefix to their endpoints.
func routes() map[string]endpoint {
	get, post, both := "GET", "POST", "GET POST"
	return map[string]endpoint{
		"experiments/create":                {post, createExperiment},
		"experiments/get":                   {get, getExperiment},
		"experiments/get-by-name":           {get, getExperimentByName},
		"experiments/search":                {both, searchExperiments},
		"experiments/list":                  {get, searchExperiments},
		"experiments/update":                {post, updateExperiment},
		"experiments/delete":                {post, deleteExperiment},
		"experiments/restore":               {post, restoreExperiment},
		"experiments/set-experiment-tag":    {post, setExperimentTag},
		"experiments/delete-experiment-tag": {post, deleteExperimentTag},

		"runs/create":        {post, createRun},
		"runs/get":           {get, getRun},
		"runs/update":        {post, updateRun},
		"runs/delete":        {post, deleteRun},
		"runs/restore":       {post, restoreRun},
		"runs/search":        {both, searchRuns},
		"runs/log-metric":    {post, logMetric},
		"runs/log-parameter": {post, logParam},
		"runs/log-batch":     {post, logBatch},
		"runs/set-tag":       {post, setRunTag},
		"runs/delete-tag":    {post, deleteRunTag},
		"runs/log-inputs":    {post, logInputs},
		"runs/outputs":       {post, logOutputs},
		"runs/log-model":     {post, logModel},

		"metrics/get-history":               {get, getHistory},
		"metrics/get-history-bulk-interval": {get, getHistoryBulkInterval},
		"artifacts/list":                    {get, listArtifacts},

		"logged-models":              {post, createLoggedModel},
		"logged-models/search":       {post, searchLoggedModels},
		"logged-models/{}":           {"GET PATCH DELETE", modelRoute},
		"logged-models/{}/tags":      {"PATCH", modelTags},
		"logged-models/{}/tags/{}":   {"DELETE", modelTagDelete},
		"logged-models/{}/params":    {post, modelParams},
		"logged-models/{}/artifacts": {get, modelArtifacts},

		"server-info": {get, serverInfo},
	}
}
