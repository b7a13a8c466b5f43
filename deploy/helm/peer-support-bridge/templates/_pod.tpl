{{/*
The pod template shared by every long-running component.
Call with (dict
  "root" $                 the chart context
  "component" "worker"     label value and resource-name suffix (e.g. "sink-email")
  "kind" "worker"          worker | ingest | sink | answers (which settings it gets)
  "args" (list "worker")   arguments to the `peer-support` entry point
  "values" $.Values.worker the component block (resources, probes, scheduling, ports)
  "scopes" (list ...)      blocks with config/secretEnv/extraEnvVars/secretFiles, general first
  "replicas" 1)
*/}}
{{- define "peer-support-bridge.podTemplate" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $labels := dict "root" $root "component" .component -}}
{{- $secretFiles := include "peer-support-bridge.secretFiles" . | fromYamlArray -}}
{{- $readsFiles := has .kind (list "worker" "sink") -}}
{{- $readsPolicy := has .kind (list "worker" "sink" "ingest") -}}
{{- $annotations := dict -}}
{{- if and $readsFiles (include "peer-support-bridge.templatesEnabled" $root) (not $root.Values.templates.existingConfigMap) -}}
{{- /* templates are read at start-up: roll the pods when they change (the policy hot-reloads, so it is left out) */ -}}
{{- $_ := set $annotations "checksum/config" (toYaml $root.Values.templates.files | sha256sum) -}}
{{- end -}}
{{- $annotations = merge $annotations (default (dict) $v.podAnnotations) -}}
metadata:
  labels:
    {{- include "peer-support-bridge.labels" $labels | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "peer-support-bridge.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.automountServiceAccountToken }}
  {{- with $root.Values.image.pullSecrets }}
  imagePullSecrets:
    {{- range . }}
    - name: {{ . }}
    {{- end }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- tpl (toYaml .) $root | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
  containers:
    - name: {{ .kind }}
      image: {{ include "peer-support-bridge.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      securityContext:
        runAsNonRoot: true
        runAsUser: {{ $root.Values.podSecurityContext.runAsUser }}
        runAsGroup: {{ $root.Values.podSecurityContext.runAsGroup }}
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      env:
        {{- include "peer-support-bridge.env" . | trim | nindent 8 }}
      ports:
        - name: http
          containerPort: {{ $v.containerPorts.http }}
          protocol: TCP
        {{- if and (eq .kind "worker") $v.evaluation.enabled }}
        - name: evaluation
          containerPort: {{ $v.containerPorts.evaluation }}
          protocol: TCP
        {{- end }}
      {{- with $v.startupProbe }}
      {{- if .enabled }}
      startupProbe:
        httpGet:
          path: /health/live
          port: http
        periodSeconds: {{ .periodSeconds }}
        timeoutSeconds: {{ .timeoutSeconds }}
        failureThreshold: {{ .failureThreshold }}
      {{- end }}
      {{- end }}
      {{- with $v.livenessProbe }}
      {{- if .enabled }}
      livenessProbe:
        httpGet:
          path: /health/live
          port: http
        initialDelaySeconds: {{ .initialDelaySeconds }}
        periodSeconds: {{ .periodSeconds }}
        timeoutSeconds: {{ .timeoutSeconds }}
        failureThreshold: {{ .failureThreshold }}
      {{- end }}
      {{- end }}
      {{- with $v.readinessProbe }}
      {{- if .enabled }}
      readinessProbe:
        httpGet:
          path: /health/ready
          port: http
        initialDelaySeconds: {{ .initialDelaySeconds }}
        periodSeconds: {{ .periodSeconds }}
        timeoutSeconds: {{ .timeoutSeconds }}
        failureThreshold: {{ .failureThreshold }}
      {{- end }}
      {{- end }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        {{- include "peer-support-bridge.volumeMounts" (dict "root" $root "kind" .kind "readsFiles" $readsFiles "readsPolicy" $readsPolicy "secretFiles" $secretFiles) | nindent 8 }}
  volumes:
    {{- include "peer-support-bridge.volumes" (dict "root" $root "kind" .kind "readsFiles" $readsFiles "readsPolicy" $readsPolicy "secretFiles" $secretFiles) | nindent 4 }}
{{- end -}}

{{/* Volume mounts of a container: /tmp, the worker's data, Kafka TLS, secret files, policy and templates. */}}
{{- define "peer-support-bridge.volumeMounts" -}}
{{- $values := .root.Values -}}
- name: tmp
  mountPath: /tmp
{{- if eq .kind "worker" }}
- name: data
  mountPath: {{ $values.worker.dataDir.mountPath }}
{{- end }}
{{- if and $values.kafka.tls.enabled (or $values.kafka.tls.caSecret.name $values.kafka.tls.clientSecret.name) }}
- name: kafka-tls
  mountPath: {{ include "peer-support-bridge.kafkaTlsDir" .root }}
  readOnly: true
{{- end }}
{{- if .secretFiles }}
- name: secret-files
  mountPath: {{ include "peer-support-bridge.secretsDir" .root }}
  readOnly: true
{{- end }}
{{- if and .readsPolicy (include "peer-support-bridge.policyEnabled" .root) }}
- name: policy
  mountPath: {{ $values.policy.mountPath }}
  readOnly: true
{{- end }}
{{- if and .readsFiles (include "peer-support-bridge.templatesEnabled" .root) }}
- name: templates
  mountPath: {{ $values.templates.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "peer-support-bridge.volumes" -}}
{{- $values := .root.Values -}}
{{- $tls := $values.kafka.tls -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ $values.tmpDir.sizeLimit }}
{{- if eq .kind "worker" }}
- name: data
  emptyDir:
    sizeLimit: {{ $values.worker.dataDir.sizeLimit }}
{{- end }}
{{- if and $tls.enabled (or $tls.caSecret.name $tls.clientSecret.name) }}
- name: kafka-tls
  projected:
    defaultMode: 0440
    sources:
      {{- if $tls.caSecret.name }}
      - secret:
          name: {{ $tls.caSecret.name }}
          items:
            - key: {{ $tls.caSecret.key }}
              path: ca.crt
      {{- end }}
      {{- if $tls.clientSecret.name }}
      - secret:
          name: {{ $tls.clientSecret.name }}
          items:
            - key: {{ $tls.clientSecret.certKey }}
              path: client.crt
            - key: {{ $tls.clientSecret.keyKey }}
              path: client.key
      {{- end }}
{{- end }}
{{- if .secretFiles }}
- name: secret-files
  projected:
    defaultMode: 0440
    sources:
      {{- range .secretFiles }}
      - secret:
          name: {{ . }}
      {{- end }}
{{- end }}
{{- if and .readsPolicy (include "peer-support-bridge.policyEnabled" .root) }}
- name: policy
  configMap:
    name: {{ include "peer-support-bridge.policyConfigMap" .root }}
{{- end }}
{{- if and .readsFiles (include "peer-support-bridge.templatesEnabled" .root) }}
- name: templates
  configMap:
    name: {{ include "peer-support-bridge.templatesConfigMap" .root }}
{{- end }}
{{- end -}}

{{/* A Deployment of one component; same arguments as podTemplate plus "autoscaled". */}}
{{- define "peer-support-bridge.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "peer-support-bridge.componentName" . }}
  namespace: {{ include "peer-support-bridge.namespace" .root }}
  labels:
    {{- include "peer-support-bridge.labels" . | nindent 4 }}
  {{- with include "peer-support-bridge.annotations" (dict "root" .root) }}{{ . | nindent 2 }}{{- end }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "peer-support-bridge.selectorLabels" . | nindent 6 }}
  template:
    {{- include "peer-support-bridge.podTemplate" . | nindent 4 }}
{{- end -}}
