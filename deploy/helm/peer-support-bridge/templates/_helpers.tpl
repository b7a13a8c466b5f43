{{/* Names, labels and the image. */}}

{{- define "peer-support-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "peer-support-bridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "peer-support-bridge.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{/* Name of one component's resources: <fullname>-<component>, at most 63 characters. */}}
{{- define "peer-support-bridge.componentName" -}}
{{- printf "%s-%s" (include "peer-support-bridge.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "peer-support-bridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource; `component` is optional. Call with (dict "root" $ "component" "worker"). */}}
{{- define "peer-support-bridge.labels" -}}
helm.sh/chart: {{ include "peer-support-bridge.chart" .root }}
{{ include "peer-support-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: peer-support-bridge
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "peer-support-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peer-support-bridge.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* metadata.annotations of every resource, from commonAnnotations (and `extra`). */}}
{{- define "peer-support-bridge.annotations" -}}
{{- $all := merge (dict) (default (dict) .extra) .root.Values.commonAnnotations -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "peer-support-bridge.image" -}}
{{- $image := .Values.image -}}
{{- $repository := $image.repository -}}
{{- if $image.registry -}}
{{- $repository = printf "%s/%s" $image.registry $image.repository -}}
{{- end -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "peer-support-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "peer-support-bridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Channels that have a sink deployed, sorted. */}}
{{- define "peer-support-bridge.enabledChannels" -}}
{{- $enabled := list -}}
{{- range $channel, $sink := .Values.sinks.channels -}}
{{- if $sink.enabled -}}
{{- $enabled = append $enabled $channel -}}
{{- end -}}
{{- end -}}
{{- join "," $enabled -}}
{{- end -}}

{{- define "peer-support-bridge.kafkaSecurityProtocol" -}}
{{- $kafka := .Values.kafka -}}
{{- if and $kafka.sasl.enabled $kafka.tls.enabled -}}SASL_SSL
{{- else if $kafka.sasl.enabled -}}SASL_PLAINTEXT
{{- else if $kafka.tls.enabled -}}SSL
{{- else -}}PLAINTEXT
{{- end -}}
{{- end -}}

{{/* Whether the policy / the templates are mounted (chart's own ConfigMap or an existing one). */}}
{{- define "peer-support-bridge.policyEnabled" -}}
{{- if or .Values.policy.existingConfigMap .Values.policy.content -}}true{{- end -}}
{{- end -}}

{{- define "peer-support-bridge.templatesEnabled" -}}
{{- if or .Values.templates.existingConfigMap .Values.templates.files -}}true{{- end -}}
{{- end -}}

{{- define "peer-support-bridge.policyConfigMap" -}}
{{- default (include "peer-support-bridge.componentName" (dict "root" . "component" "policy")) .Values.policy.existingConfigMap -}}
{{- end -}}

{{- define "peer-support-bridge.templatesConfigMap" -}}
{{- default (include "peer-support-bridge.componentName" (dict "root" . "component" "templates")) .Values.templates.existingConfigMap -}}
{{- end -}}

{{/*
The long-running components that are enabled, as a YAML list of
{component: resource suffix, key: values block (worker, ingest, answers, sinks), channel}.
*/}}
{{- define "peer-support-bridge.components" -}}
{{- $list := list -}}
{{- range $key := list "worker" "ingest" "answers" -}}
{{- if (index $.Values $key).enabled -}}
{{- $list = append $list (dict "component" $key "key" $key "channel" "") -}}
{{- end -}}
{{- end -}}
{{- range $channel, $sink := .Values.sinks.channels -}}
{{- if $sink.enabled -}}
{{- $list = append $list (dict "component" (printf "sink-%s" $channel) "key" "sinks" "channel" $channel) -}}
{{- end -}}
{{- end -}}
{{- toYaml $list -}}
{{- end -}}
