//go:build !unix

package mlflow

// oNoFollow is not there to have: the walk's checks of each entry stand.
const oNoFollow = 0
