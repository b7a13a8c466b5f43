{{/*
Settings: every PSB_* environment variable of every component comes from here.

A component's environment is built mechanically from, in this order (later wins):
  1. `config` (every component), then the component's `config` (and a sink channel's);
  2. the settings the chart derives from structured values (`managedSettings` below);
  3. `secretEnv` maps the same way, rendered as secretKeyRef, plus derived secret references.
Adding a setting to the code therefore needs one entry in a `config` (or `secretEnv`) map in
values.yaml; tests/integration/test_chart_parity.py names any setting that has none.
*/}}

{{/*
Settings the chart sets itself, and the values key that sets each. Putting one of these in a
`config` map is refused, so there is exactly one place to set each.
*/}}
{{- define "peer-support-bridge.managedSettings" -}}
PSB_KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers
PSB_KAFKA_SECURITY_PROTOCOL: kafka.tls.enabled and kafka.sasl.enabled
PSB_KAFKA_SASL_MECHANISM: kafka.sasl.mechanism
PSB_KAFKA_SASL_USERNAME: kafka.sasl.username or kafka.sasl.usernameKey
PSB_KAFKA_SASL_PASSWORD: kafka.sasl.existingSecret and kafka.sasl.passwordKey
PSB_KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: kafka.sasl.oauthbearer.tokenEndpointUrl
PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_ID: kafka.sasl.oauthbearer.clientId
PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: kafka.sasl.existingSecret and kafka.sasl.oauthbearer.clientSecretKey
PSB_KAFKA_SASL_OAUTHBEARER_SCOPE: kafka.sasl.oauthbearer.scope
PSB_KAFKA_SASL_OAUTHBEARER_EXTENSIONS: kafka.sasl.oauthbearer.extensions
PSB_KAFKA_SSL_CA_LOCATION: kafka.tls.caSecret
PSB_KAFKA_SSL_CERTIFICATE_LOCATION: kafka.tls.clientSecret
PSB_KAFKA_SSL_KEY_LOCATION: kafka.tls.clientSecret
PSB_KAFKA_SSL_CHECK_HOSTNAME: kafka.tls.checkHostname
PSB_KAFKA_TOPIC_PREFIX: kafka.topicPrefix
PSB_KAFKA_PARTITIONS: kafka.partitions
PSB_KAFKA_REPLICATION_FACTOR: kafka.replicationFactor
PSB_KAFKA_REPORTS_RETENTION_HOURS: kafka.reportsRetentionHours
PSB_PSEUDONYM_KEY: pseudonymKey.existingSecret and pseudonymKey.key
PSB_SECRETS_DIR: secretFiles (and each component's secretFiles)
PSB_POLICY_FILE: policy.content, policy.existingConfigMap and policy.fileName
PSB_TEMPLATES_DIR: templates.files or templates.existingConfigMap
PSB_WORKER_WEB_PORT: worker.containerPorts.http
PSB_WORKER_DATA_DIR: worker.dataDir.mountPath
PSB_WORKER_CHANNELS: worker.channels, or the enabled sinks.channels
PSB_EVALUATION_PORT: worker.evaluation.enabled and worker.containerPorts.evaluation
PSB_INGEST_PORT: ingest.containerPorts.http
PSB_SINK_HEALTH_PORT: sinks.containerPorts.http
PSB_ANSWERS_PORT: answers.containerPorts.http
PSB_ANSWERS_SECRET: answers.linkSecret.existingSecret and answers.linkSecret.key
PSB_ANSWERS_BASE_URL: answers.publicUrl
{{- end -}}

{{/*
Settings that hold secrets and so are refused in `config` maps: these names, and any name
ending in PASSWORD, TOKEN, SECRET or _KEY. Add a secret whose name does not end so here.
*/}}
{{- define "peer-support-bridge.secretSettings" -}}
- PSB_PSEUDONYM_KEY
- PSB_KAFKA_SASL_PASSWORD
- PSB_SMTP_USERNAME
- PSB_SMS_GATEWAY_URL
- PSB_SMS_HEADERS
- PSB_TEAMS_WORKFLOW_URL
- PSB_SLACK_WEBHOOK_URL
- PSB_WEBHOOK_URL
{{- end -}}

{{- define "peer-support-bridge.isSecretSetting" -}}
{{- if or (has . (include "peer-support-bridge.secretSettings" dict | fromYamlArray)) (regexMatch "(PASSWORD|TOKEN|SECRET|_KEY)$" .) -}}true{{- end -}}
{{- end -}}

{{/* Where mounted files live inside the containers. */}}
{{- define "peer-support-bridge.kafkaTlsDir" -}}/etc/peer-support/kafka-tls{{- end -}}
{{- define "peer-support-bridge.secretsDir" -}}/var/run/secrets/peer-support{{- end -}}

{{/*
A setting's value as an environment variable string. Integers stay integers even when values
arrive as JSON numbers (float64 inside Helm), so 1048576 never becomes 1.048576e+06.
*/}}
{{- define "peer-support-bridge.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- printf "%d" (int64 .) -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
Plain settings derived from structured values, for one component.
Call with (dict "root" $ "component" "worker|ingest|sink|answers|topics" "secretFiles" list).
*/}}
{{- define "peer-support-bridge.derivedSettings" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $kafka := $values.kafka -}}
{{- $settings := dict
  "PSB_KAFKA_BOOTSTRAP_SERVERS" $kafka.bootstrapServers
  "PSB_KAFKA_SECURITY_PROTOCOL" (include "peer-support-bridge.kafkaSecurityProtocol" $root)
  "PSB_KAFKA_TOPIC_PREFIX" $kafka.topicPrefix
  "PSB_KAFKA_PARTITIONS" (include "peer-support-bridge.envValue" $kafka.partitions)
  "PSB_KAFKA_REPLICATION_FACTOR" (include "peer-support-bridge.envValue" $kafka.replicationFactor)
  "PSB_KAFKA_REPORTS_RETENTION_HOURS" (include "peer-support-bridge.envValue" $kafka.reportsRetentionHours)
-}}
{{- if $kafka.sasl.enabled -}}
{{- $_ := set $settings "PSB_KAFKA_SASL_MECHANISM" $kafka.sasl.mechanism -}}
{{- if eq $kafka.sasl.mechanism "OAUTHBEARER" -}}
{{- $oauth := $kafka.sasl.oauthbearer -}}
{{- $_ := set $settings "PSB_KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL" $oauth.tokenEndpointUrl -}}
{{- $_ := set $settings "PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_ID" $oauth.clientId -}}
{{- if $oauth.scope -}}
{{- $_ := set $settings "PSB_KAFKA_SASL_OAUTHBEARER_SCOPE" $oauth.scope -}}
{{- end -}}
{{- if $oauth.extensions -}}
{{- $_ := set $settings "PSB_KAFKA_SASL_OAUTHBEARER_EXTENSIONS" $oauth.extensions -}}
{{- end -}}
{{- else if not $kafka.sasl.usernameKey -}}
{{- $_ := set $settings "PSB_KAFKA_SASL_USERNAME" $kafka.sasl.username -}}
{{- end -}}
{{- end -}}
{{- if $kafka.tls.enabled -}}
{{- $dir := include "peer-support-bridge.kafkaTlsDir" $root -}}
{{- $_ := set $settings "PSB_KAFKA_SSL_CHECK_HOSTNAME" (ternary "true" "false" $kafka.tls.checkHostname) -}}
{{- if $kafka.tls.caSecret.name -}}
{{- $_ := set $settings "PSB_KAFKA_SSL_CA_LOCATION" (printf "%s/ca.crt" $dir) -}}
{{- end -}}
{{- if $kafka.tls.clientSecret.name -}}
{{- $_ := set $settings "PSB_KAFKA_SSL_CERTIFICATE_LOCATION" (printf "%s/client.crt" $dir) -}}
{{- $_ := set $settings "PSB_KAFKA_SSL_KEY_LOCATION" (printf "%s/client.key" $dir) -}}
{{- end -}}
{{- end -}}
{{- if .secretFiles -}}
{{- $_ := set $settings "PSB_SECRETS_DIR" (include "peer-support-bridge.secretsDir" $root) -}}
{{- end -}}
{{- if and (has .component (list "worker" "sink" "ingest")) (include "peer-support-bridge.policyEnabled" $root) -}}
{{- $_ := set $settings "PSB_POLICY_FILE" (printf "%s/%s" $values.policy.mountPath $values.policy.fileName) -}}
{{- end -}}
{{- if has .component (list "worker" "sink") -}}
{{- if include "peer-support-bridge.templatesEnabled" $root -}}
{{- $_ := set $settings "PSB_TEMPLATES_DIR" $values.templates.mountPath -}}
{{- end -}}
{{- end -}}
{{- if eq .component "worker" -}}
{{- $_ := set $settings "PSB_WORKER_WEB_PORT" (include "peer-support-bridge.envValue" $values.worker.containerPorts.http) -}}
{{- $_ := set $settings "PSB_WORKER_DATA_DIR" $values.worker.dataDir.mountPath -}}
{{- $_ := set $settings "PSB_WORKER_CHANNELS" (default (include "peer-support-bridge.enabledChannels" $root) (join "," $values.worker.channels)) -}}
{{- if $values.worker.evaluation.enabled -}}
{{- $_ := set $settings "PSB_EVALUATION_PORT" (include "peer-support-bridge.envValue" $values.worker.containerPorts.evaluation) -}}
{{- end -}}
{{- else if eq .component "ingest" -}}
{{- $_ := set $settings "PSB_INGEST_PORT" (include "peer-support-bridge.envValue" $values.ingest.containerPorts.http) -}}
{{- else if eq .component "sink" -}}
{{- $_ := set $settings "PSB_SINK_HEALTH_PORT" (include "peer-support-bridge.envValue" $values.sinks.containerPorts.http) -}}
{{- else if eq .component "answers" -}}
{{- $_ := set $settings "PSB_ANSWERS_PORT" (include "peer-support-bridge.envValue" $values.answers.containerPorts.http) -}}
{{- end -}}
{{- if and $values.answers.enabled (has .component (list "sink" "answers")) -}}
{{- $_ := set $settings "PSB_ANSWERS_BASE_URL" $values.answers.publicUrl -}}
{{- end -}}
{{- toYaml $settings -}}
{{- end -}}

{{/* Secret references derived from structured values: VAR -> {name, key}. */}}
{{- define "peer-support-bridge.derivedSecretEnv" -}}
{{- $values := .root.Values -}}
{{- $refs := dict -}}
{{- if and $values.kafka.sasl.enabled (eq $values.kafka.sasl.mechanism "OAUTHBEARER") -}}
{{- $_ := set $refs "PSB_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET" (dict "name" $values.kafka.sasl.existingSecret "key" $values.kafka.sasl.oauthbearer.clientSecretKey) -}}
{{- else if $values.kafka.sasl.enabled -}}
{{- $_ := set $refs "PSB_KAFKA_SASL_PASSWORD" (dict "name" $values.kafka.sasl.existingSecret "key" $values.kafka.sasl.passwordKey) -}}
{{- if $values.kafka.sasl.usernameKey -}}
{{- $_ := set $refs "PSB_KAFKA_SASL_USERNAME" (dict "name" $values.kafka.sasl.existingSecret "key" $values.kafka.sasl.usernameKey) -}}
{{- end -}}
{{- end -}}
{{- if has .component (list "worker" "ingest") -}}
{{- $_ := set $refs "PSB_PSEUDONYM_KEY" (dict "name" $values.pseudonymKey.existingSecret "key" $values.pseudonymKey.key) -}}
{{- end -}}
{{- if and $values.answers.enabled (has .component (list "sink" "answers")) -}}
{{- $_ := set $refs "PSB_ANSWERS_SECRET" (dict "name" $values.answers.linkSecret.existingSecret "key" $values.answers.linkSecret.key) -}}
{{- end -}}
{{- toYaml $refs -}}
{{- end -}}

{{/*
The `env` list of one container.
Call with (dict "root" $ "component" "worker" "scopes" (list $.Values.worker ...)), where
`scopes` are the values blocks with `config`/`secretEnv`/`extraEnvVars`/`secretFiles` that
apply, most general first (the top level is always included first).
*/}}
{{- define "peer-support-bridge.env" -}}
{{- $root := .root -}}
{{- $scopes := prepend .scopes $root.Values -}}
{{- $plain := dict -}}
{{- $secret := dict -}}
{{- $extra := list -}}
{{- $secretFiles := list -}}
{{- range $scopes -}}
{{- $plain = mergeOverwrite $plain (deepCopy (default (dict) .config)) -}}
{{- range $name, $ref := (default (dict) .secretEnv) -}}
{{- /* an entry without a Secret name is left out, so it never hides a more general one */ -}}
{{- if $ref.name -}}
{{- $_ := set $secret $name (deepCopy $ref) -}}
{{- end -}}
{{- end -}}
{{- $extra = concat $extra (default (list) .extraEnvVars) -}}
{{- $secretFiles = concat $secretFiles (default (list) .secretFiles) -}}
{{- end -}}
{{- $derived := include "peer-support-bridge.derivedSettings" (dict "root" $root "component" .kind "secretFiles" $secretFiles) | fromYaml -}}
{{- $plain = mergeOverwrite $plain $derived -}}
{{- $secret = mergeOverwrite $secret (include "peer-support-bridge.derivedSecretEnv" (dict "root" $root "component" .kind) | fromYaml) -}}
{{- range $name, $value := $plain }}
{{- if not (or (kindIs "invalid" $value) (eq (toString $value) "")) }}
- name: {{ $name }}
  value: {{ include "peer-support-bridge.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- range $name, $ref := $secret }}
{{- if $ref.name }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end }}
{{- with $extra }}
{{ tpl (toYaml .) $root }}
{{- end }}
{{- end -}}

{{/* Existing Secrets mounted as files in PSB_SECRETS_DIR for one container (same call as env). */}}
{{- define "peer-support-bridge.secretFiles" -}}
{{- $files := list -}}
{{- range (prepend .scopes .root.Values) -}}
{{- $files = concat $files (default (list) .secretFiles) -}}
{{- end -}}
{{- toYaml (uniq $files) -}}
{{- end -}}
