{{/* The chart's name, overridable. */}}
{{- define "cro.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: the release name when it already contains the chart's
name (release "config-reload-operator" gives the names of manifests/), else release-chart.
*/}}
{{- define "cro.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cro.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable). */}}
{{- define "cro.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cro.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cro.labels" -}}
{{ include "cro.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "cro.chart" . }}
{{- end }}

{{- define "cro.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cro.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease the replicas elect a leader on: named after the release. */}}
{{- define "cro.leaseName" -}}
{{- include "cro.fullname" . }}
{{- end }}

{{- define "cro.leaderElectionRole" -}}
{{- printf "%s-leader-election" (include "cro.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cro.metricsServiceName" -}}
{{- printf "%s-metrics" (include "cro.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The operator image. No image is published yet: without image.repository the chart refuses to
render (rather than default to one that does not exist and end in ImagePullBackOff).
*/}}
{{- define "cro.image" -}}
{{- if not .Values.image.repository }}
{{- fail (printf "image.repository is not set, and no image of config-reload-operator is published yet: build and push one from a checkout of its repository (docker build -t REGISTRY/config-reload-operator:%s . && docker push REGISTRY/config-reload-operator:%s), then install with --set image.repository=REGISTRY/config-reload-operator (README, Install)" .Chart.AppVersion .Chart.AppVersion) }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The operator's flags. Optional ones are rendered only when set, so that the defaults give the
arguments of manifests/.
*/}}
{{- define "cro.args" -}}
- {{ printf "--http-addr=:%v" .Values.metrics.port | quote }}
{{- if .Values.leaderElection.enabled }}
- --leader-elect
{{- end }}
- {{ printf "--log-format=%s" .Values.logFormat | quote }}
{{- if and .Values.leaderElection.enabled (ne (include "cro.leaseName" .) "config-reload-operator") }}
- {{ printf "--leader-election-id=%s" (include "cro.leaseName" .) | quote }}
{{- end }}
{{- with .Values.leaderElection.leaseDuration }}
- {{ printf "--lease-duration=%s" . | quote }}
{{- end }}
{{- with .Values.logLevel }}
- {{ printf "--log-level=%s" . | quote }}
{{- end }}
{{- if and .Values.watchNamespaces .Values.namespaceSelector }}
{{- fail "watchNamespaces and namespaceSelector exclude each other: list the namespaces (a tenant install, no cluster-scoped object), or select them by label (list/watch on Namespaces, cluster-wide)" }}
{{- end }}
{{- with .Values.watchNamespaces }}
- {{ printf "--namespace=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.workloadKinds }}
- {{ printf "--workload-kinds=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.namespaceSelector }}
- {{ printf "--namespace-selector=%s" . | quote }}
{{- end }}
{{- with .Values.excludeNamespaces }}
- {{ printf "--exclude-namespaces=%s" (join "," .) | quote }}
{{- end }}
{{- with .Values.selectors.configMaps }}
- {{ printf "--configmap-selector=%s" . | quote }}
{{- end }}
{{- if and .Values.secrets.enabled .Values.selectors.secrets }}
- {{ printf "--secret-selector=%s" .Values.selectors.secrets | quote }}
{{- end }}
{{- if not .Values.secrets.enabled }}
- --config-sources=configmaps
- --digest-key-file=/etc/config-reload/digest-key/key
{{- else if ne .Values.digestKey.secretName "config-reload-digest-key" }}
- {{ printf "--digest-key-secret=%s" .Values.digestKey.secretName | quote }}
{{- end }}
{{- if .Values.dryRun }}
- --dry-run
{{- end }}
{{- if include "cro.notifySecret" . }}
- {{ printf "--notify-url-file=/etc/config-reload/notifications/%s" .Values.notifications.key | quote }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The Secret holding the notification webhooks (docs/notifications.md): the chart's own when
notifications.urls is set, else notifications.existingSecret; empty: no notifications.
*/}}
{{- define "cro.notifySecret" -}}
{{- if and .Values.notifications.urls .Values.notifications.existingSecret }}
{{- fail "notifications.urls and notifications.existingSecret exclude each other: list the webhooks, or name the Secret holding them" }}
{{- end }}
{{- if .Values.notifications.urls }}
{{- printf "%s-notifications" (include "cro.fullname" .) }}
{{- else }}
{{- .Values.notifications.existingSecret }}
{{- end }}
{{- end }}

{{/* The label matcher of every alert rule. */}}
{{- define "cro.ruleSelector" -}}
{{- default (printf "job=%q" (include "cro.metricsServiceName" .)) .Values.prometheusRule.selector }}
{{- end }}

{{/*
The rules of the operator in the namespaces it watches: a ClusterRole's (clusterrole.yaml) or,
with watchNamespaces, a Role's in each (rolebindings-watch.yaml).
*/}}
{{- define "cro.watchRules" -}}
# Watch ConfigMaps to digest what the workloads consume: list+watch feed the reflector
# (paginated initial list, then a watch from its resourceVersion). No get: it never reads
# one object on its own.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list", "watch"]
{{- if .Values.secrets.enabled }}
# Secrets beside ConfigMaps (secrets.enabled), read the same way: list+watch, no get. Only
# keyed digests are kept, never a value.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list", "watch"]
{{- end }}
# Watch the workloads to learn who opted in and which ConfigMaps and Secrets they reference;
# patch writes the config-hash annotations (metadata on adoption, pod template on a roll) as a
# merge patch of the annotations alone. No update: the operator never PUTs a whole object.
# One rule per API group of workloadKinds (docs/workload-kinds.md).
{{- range $group, $plurals := include "cro.workloadResources" . | fromYaml }}
- apiGroups: [{{ $group | quote }}]
  resources: {{ toJson $plurals }}
  verbs: ["list", "watch", "patch"]
{{- end }}
# Record Events on workloads (Normal on a roll, Warning on a missing ConfigMap or Secret or a
# malformed annotation), through core/v1. patch increments the count of a repeated Event
# instead of creating a new one.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
workloadKinds by API group, as YAML: `plural` is apps/v1's, `plural.group` a custom kind's
(docs/workload-kinds.md). Empty: the operator's default, the three of apps/v1.
*/}}
{{- define "cro.workloadResources" -}}
{{- $groups := dict -}}
{{- range (.Values.workloadKinds | default (list "deployments" "statefulsets" "daemonsets")) -}}
{{- $parts := splitn "." 2 . -}}
{{- $group := $parts._1 | default "apps" -}}
{{- $plurals := get $groups $group | default list -}}
{{- $_ := set $groups $group (append $plurals $parts._0) -}}
{{- end -}}
{{- toYaml $groups -}}
{{- end -}}
