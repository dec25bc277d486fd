# Sourced by scripts/build.sh and scripts/build-plugin.sh: the git revision a build carries
# (src/core/version.ts: --version, the start-up log line, config_reload_build_info). $REVISION
# when set (the image's build, whose context holds no .git: `docker build --build-arg
# REVISION=$(git rev-parse HEAD)`), else the checkout's HEAD, with `-dirty` when the work tree
# differs from it; else none (`unknown`). Anything but a commit's characters is refused, exit 2.
build_revision() {
  local script="$1" revision="${REVISION:-}"
  if [ -z "$revision" ] && revision=$(git rev-parse HEAD 2>/dev/null); then
    git diff --quiet HEAD -- 2>/dev/null || revision="$revision-dirty"
  fi
  case $revision in
    *[!0-9a-zA-Z._-]*) echo "$script: REVISION ${revision@Q}: expected a commit (letters, digits, . _ -)" >&2; exit 2 ;;
  esac
  printf '%s' "$revision"
}
