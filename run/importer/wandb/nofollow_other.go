//go:build !unix

package wandb

// oNoFollow is not there to have: the walk's checks of each entry stand.
const oNoFollow = 0
