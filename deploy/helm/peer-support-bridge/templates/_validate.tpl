{{/*
Checks that values.schema.json cannot express: each failed check adds one line naming the
values key and what to do, and the install stops with all of them.
*/}}
{{- define "peer-support-bridge.validateValues" -}}
{{- $errors := list -}}
{{- $values := .Values -}}
{{- $managed := include "peer-support-bridge.managedSettings" . | fromYaml -}}

{{- /* Settings maps: nothing the chart sets itself, no secrets as plain values. */ -}}
{{- $scopes := dict "config" $values.config "worker.config" $values.worker.config "ingest.config" $values.ingest.config "answers.config" $values.answers.config "sinks.config" $values.sinks.config -}}
{{- $secretScopes := dict "config" "secretEnv" "worker.config" "worker.secretEnv" "ingest.config" "ingest.secretEnv" "answers.config" "answers.secretEnv" "sinks.config" "sinks.secretEnv" -}}
{{- range $channel, $sink := $values.sinks.channels -}}
{{- $_ := set $scopes (printf "sinks.channels.%s.config" $channel) $sink.config -}}
{{- $_ := set $secretScopes (printf "sinks.channels.%s.config" $channel) (printf "sinks.channels.%s.secretEnv" $channel) -}}
{{- end -}}
{{- range $scope, $config := $scopes -}}
{{- range $name, $value := $config -}}
{{- if hasKey $managed $name -}}
{{- $errors = append $errors (printf "%s.%s: the chart sets %s itself from %s; set that instead" $scope $name $name (get $managed $name)) -}}
{{- else if include "peer-support-bridge.isSecretSetting" $name -}}
{{- $errors = append $errors (printf "%s.%s: %s is a secret and never goes into a plain value; reference an existing Secret with %s.%s: {name: <secret>, key: <key>}" $scope $name $name (get $secretScopes $scope) $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $secretEnvScopes := dict "secretEnv" $values.secretEnv "worker.secretEnv" $values.worker.secretEnv "ingest.secretEnv" $values.ingest.secretEnv "answers.secretEnv" $values.answers.secretEnv "sinks.secretEnv" $values.sinks.secretEnv -}}
{{- range $channel, $sink := $values.sinks.channels -}}
{{- $_ := set $secretEnvScopes (printf "sinks.channels.%s.secretEnv" $channel) $sink.secretEnv -}}
{{- end -}}
{{- range $scope, $refs := $secretEnvScopes -}}
{{- range $name, $ref := $refs -}}
{{- if hasKey $managed $name -}}
{{- $errors = append $errors (printf "%s.%s: the chart sets %s itself from %s; set that instead" $scope $name $name (get $managed $name)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Kafka */ -}}
{{- $sasl := $values.kafka.sasl -}}
{{- if and $sasl.enabled (not $sasl.existingSecret) -}}
{{- $errors = append $errors "kafka.sasl.existingSecret: SASL is enabled; name the existing Secret holding the password" -}}
{{- end -}}
{{- if and $sasl.enabled (not $sasl.username) (not $sasl.usernameKey) -}}
{{- $errors = append $errors "kafka.sasl.username: SASL is enabled; set the user name, or kafka.sasl.usernameKey to take it from the Secret" -}}
{{- end -}}

{{- /* Worker */ -}}
{{- $worker := $values.worker -}}
{{- if $worker.enabled -}}
{{- if not (or $worker.channels (include "peer-support-bridge.enabledChannels" .)) -}}
{{- $errors = append $errors "sinks.channels: the worker routes offers to channels, but no sink is enabled; enable at least one channel (or list the channels deployed elsewhere in worker.channels)" -}}
{{- end -}}
{{- if and $worker.evaluation.enabled (eq (int $worker.containerPorts.evaluation) (int $worker.containerPorts.http)) -}}
{{- $errors = append $errors (printf "worker.containerPorts.evaluation: %d is the health and metrics port (worker.containerPorts.http); the evaluation page is served on a port of its own, pick another" (int $worker.containerPorts.evaluation)) -}}
{{- end -}}
{{- $partitions := int $values.kafka.partitions -}}
{{- if and $worker.autoscaling.hpa.enabled $worker.autoscaling.keda.enabled -}}
{{- $errors = append $errors "worker.autoscaling: enable either hpa or keda, not both (KEDA creates its own HorizontalPodAutoscaler)" -}}
{{- end -}}
{{- range $name := list "hpa" "keda" -}}
{{- $scaler := index $worker.autoscaling $name -}}
{{- if and $scaler.enabled (gt (int $scaler.maxReplicas) $partitions) -}}
{{- $errors = append $errors (printf "worker.autoscaling.%s.maxReplicas: %d is more than kafka.partitions (%d); replicas beyond the partition count sit idle" $name (int $scaler.maxReplicas) $partitions) -}}
{{- end -}}
{{- end -}}
{{- if and (not $worker.autoscaling.hpa.enabled) (not $worker.autoscaling.keda.enabled) (gt (int $worker.replicaCount) $partitions) -}}
{{- $errors = append $errors (printf "worker.replicaCount: %d is more than kafka.partitions (%d); replicas beyond the partition count sit idle" (int $worker.replicaCount) $partitions) -}}
{{- end -}}
{{- end -}}

{{- /* Autoscalers */ -}}
{{- $scalers := dict "worker.autoscaling.hpa" $worker.autoscaling.hpa "worker.autoscaling.keda" $worker.autoscaling.keda "ingest.autoscaling.hpa" $values.ingest.autoscaling.hpa "answers.autoscaling.hpa" $values.answers.autoscaling.hpa -}}
{{- range $key, $scaler := $scalers -}}
{{- if and $scaler.enabled (gt (int $scaler.minReplicas) (int $scaler.maxReplicas)) -}}
{{- $errors = append $errors (printf "%s.minReplicas: %d is more than maxReplicas (%d)" $key (int $scaler.minReplicas) (int $scaler.maxReplicas)) -}}
{{- end -}}
{{- end -}}

{{- /* Policy and templates */ -}}
{{- if and $values.policy.content $values.policy.existingConfigMap -}}
{{- $errors = append $errors "policy: set either policy.content or policy.existingConfigMap, not both" -}}
{{- end -}}
{{- if and $values.templates.files $values.templates.existingConfigMap -}}
{{- $errors = append $errors "templates: set either templates.files or templates.existingConfigMap, not both" -}}
{{- end -}}

{{- if $errors -}}
{{- printf "\nVALUES VALIDATION:\n%s" (join "\n" $errors) | fail -}}
{{- end -}}
{{- end -}}
