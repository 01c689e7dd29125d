#!/bin/sh
# Assembles a runnable latent.lv2 bundle in the build tree from symbolic links, so tests and
# demos can point LV2_PATH at it. Usage: assemble-bundle.sh BUNDLE_DIR STAMP FILE... where a
# FILE may be NAME=PATH to link under another name; PATH may be missing (e.g. a model still
# being trained), then it is skipped.
set -eu
bundle=$1
stamp=$2
shift 2
mkdir -p "$bundle/models"
for spec in "$@"; do
  case "$spec" in
    *=*) name=${spec%%=*}; path=${spec#*=} ;;
    *) name=$(basename "$spec"); path=$spec ;;
  esac
  if [ -e "$path" ]; then
    ln -sfn "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")" "$bundle/$name"
  else
    rm -f "$bundle/$name"
  fi
done
touch "$stamp"
