#!/usr/bin/env bash
# Every library exports the repo root as its include path, so the compiler
# alone would accept an upward include (stun -> turn, turn -> net). This
# check makes the layering rule hold: each folder may include only itself
# and the folders listed for it. Run by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A may_use=(
  [relay/base]=""
  [relay/stun]="relay/base"
  [auth]="relay/base relay/stun"
  [conf]="relay/base"
  [relay/turn]="relay/base relay/stun auth"
  [relay/net]="relay/base relay/stun auth relay/turn conf"
  [relay/fastpath]="relay/base relay/stun auth relay/turn"
  [control]="relay/base conf auth"
  [relay/app]="relay/base relay/stun auth relay/turn conf relay/net relay/fastpath control"
)

bad=0
for folder in "${!may_use[@]}"; do
  [ -d "$folder" ] || continue
  allowed=" $folder ${may_use[$folder]} "
  while IFS= read -r -d '' file; do
    while IFS= read -r target; do
      dir=$(dirname "$target")
      case "$dir" in
        relay/*) top="$dir" ;;
        *) top="${dir%%/*}" ;;
      esac
      # Sub-folders (control/http) belong to their top folder.
      [[ "$top" == relay/*/* ]] && top="relay/$(echo "$top" | cut -d/ -f2)"
      if [[ "$allowed" != *" $top "* ]]; then
        echo "$file: includes \"$target\": $folder may use only:${may_use[$folder]:- nothing}"
        bad=1
      fi
    done < <(grep -oE '^#include "[^"]+"' "$file" | sed -E 's/#include "([^"]+)"/\1/')
  done < <(find "$folder" -maxdepth 3 \( -name '*.cc' -o -name '*.h' \) -print0)
done
[ "$bad" -eq 0 ] && echo "layers ok"
exit "$bad"
