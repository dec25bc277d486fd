#!/usr/bin/env bash
# The chart as a release publishes it: charts/config-reload-operator packaged (`helm package`)
# into OUTDIR, with the image the same release pushed as its default — image.repository, and
# image.digest when given, so that `helm install` of the published chart pulls exactly that
# (signed) image. The repository's own chart keeps no default image (none is published from a
# checkout): this edits a copy. Prints the package's path on the last line of stdout.
#   bash scripts/build-chart.sh OUTDIR IMAGE_REPOSITORY [sha256:DIGEST]
# Env: HELM (default: helm on the PATH). The release workflow runs it; so does
# test/system/release.test.ts, with the testbed's helm.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: bash scripts/build-chart.sh OUTDIR IMAGE_REPOSITORY [sha256:DIGEST]" >&2
  exit 2
fi
out="$1" repository="$2" digest="${3:-}"
helm="${HELM:-helm}"
[[ $repository =~ ^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)+$ ]] || { echo "build-chart.sh: ${repository@Q} is not an image repository (lower case, no tag)" >&2; exit 2; }
[[ -z $digest || $digest =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "build-chart.sh: ${digest@Q} is not sha256:<64 hex digits>" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -R charts/config-reload-operator "$work/"
values="$work/config-reload-operator/values.yaml"
# In the image: block, the comment saying no image is published goes, and the two values are set.
awk -v repository="$repository" -v digest="$digest" '
  /^image:/ { block = 1; print; print "  # Published with this chart by its release (docs/releasing.md)."; next }
  block && /^[^ #]/ { block = 0 }
  block && /^  repository: ""$/ { print "  repository: \"" repository "\""; seen++; next }
  block && /^  digest: ""$/ && digest != "" { print "  digest: \"" digest "\""; seen++; next }
  block && !seen && /^  #/ { next }
  { print }
  END { if (seen != (digest == "" ? 1 : 2)) { print "build-chart.sh: values.yaml: no empty image.repository/image.digest to set" > "/dev/stderr"; exit 1 } }
' charts/config-reload-operator/values.yaml > "$values"
mkdir -p "$out"
"$helm" lint "$work/config-reload-operator" >&2
"$helm" package "$work/config-reload-operator" --destination "$out" >&2
version=$(sed -n 's/^version:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}[[:space:]]*$/\1/p' charts/config-reload-operator/Chart.yaml)
echo "$out/config-reload-operator-$version.tgz"
