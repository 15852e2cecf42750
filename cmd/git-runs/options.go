package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/live"
)

// startFlags are the flags of every command that starts a run.
type startFlags struct {
	Name       string        `short:"n" help:"Name of the run (default: a generated one such as brave-otter-42)."`
	Experiment string        `short:"e" default:"default" help:"Experiment the run belongs to."`
	Param      []string      `short:"p" sep:"none" placeholder:"KEY=VALUE" help:"Set a param; VALUE is read as a TOML literal (10, 0.01, true, [1, 2]) where it is one, else as a string. Repeatable."`
	Tag        []string      `short:"t" sep:"none" placeholder:"KEY=VALUE" help:"Set a tag. Repeatable."`
	Checkpoint time.Duration `default:"30s" help:"How often the live run is committed, so that others see its progress."`
}

func (f *startFlags) options() (live.Options, error) {
	params, err := parseParams(f.Param)
	if err != nil {
		return live.Options{}, err
	}
	tags, err := parseTags(f.Tag)
	if err != nil {
		return live.Options{}, err
	}
	return live.Options{Name: f.Name, Experiment: f.Experiment, Params: params, Tags: tags, Checkpoint: f.Checkpoint}, nil
}

func parseParams(kvs []string) (map[string]any, error) {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		k, v, err := parseKV(kv)
		if err != nil {
			return nil, err
		}
		if err := run.ValidateKey("param", k); err != nil {
			return nil, err
		}
		val := codec.ParseValue(v)
		if old, dup := m[k]; dup && !run.SameValue(old, val) {
			return nil, fmt.Errorf("param %q given twice: %s and %s", k, run.FormatValue(old), run.FormatValue(val))
		}
		m[k] = val
	}
	return m, nil
}

func parseTags(kvs []string) (map[string]string, error) {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, err := parseKV(kv)
		if err != nil {
			return nil, err
		}
		if err := run.ValidateKey("tag", k); err != nil {
			return nil, err
		}
		if err := run.ValidateTagValue(k, v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// parseKV splits a command-line argument KEY=VALUE at its first '='.
func parseKV(arg string) (key, value string, err error) {
	key, value, ok := strings.Cut(arg, "=")
	if !ok || key == "" {
		return "", "", fmt.Errorf("malformed %q: expected KEY=VALUE", arg)
	}
	return key, value, nil
}
