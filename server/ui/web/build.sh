#!/usr/bin/env bash
# Builds the web UI's assets from sources: the UI's own files are written
# by hand in assets/ and need no build; its one dependency, uPlot, is
# installed from npm at the version package-lock.json pins and copied,
# with its licence, into assets/vendor/, which is committed and embedded
# in the binary so that go build alone gives a working UI.
#   --check   only tells whether the committed assets match the sources
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
out=assets/vendor
if [ "${1:-}" = --check ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$out/"
cp node_modules/uplot/LICENSE "$out/uPlot.LICENSE"
if [ "${1:-}" = --check ]; then
	diff -r "$out" assets/vendor >/dev/null || { echo "server/ui/web/assets/vendor does not match package-lock.json: run server/ui/web/build.sh" >&2; exit 1; }
	echo "web UI assets match their sources"
fi
