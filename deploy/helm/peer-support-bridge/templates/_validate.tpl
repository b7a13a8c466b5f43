{{/*
Checks that values.schema.json cannot express: each failed check adds one line naming the
values key and what to do, and the install stops with all of them.
*/}}
{{- define "peer-support-bridge.validateValues" -}}
{{- $errors := list -}}
{{- $values := .Values -}}
{{- $managed := include "peer-support-bridge.managedSettings" . | fromYaml -}}

{{- /*
Settings maps, at every place that has them (the top level, each component, each sink
channel, the directory sync): nothing the chart sets itself, no secret as a plain value.
extraEnvVars entries are Kubernetes `env` entries for anything else: a PSB_* setting with a
literal value belongs in a `config` map, where these checks see it.
*/ -}}
{{- $blocks := list (list "" $values) -}}
{{- range $key := list "worker" "ingest" "answers" "sinks" "directorySync" -}}
{{- $blocks = append $blocks (list (printf "%s." $key) (index $values $key)) -}}
{{- end -}}
{{- range $channel, $sink := $values.sinks.channels -}}
{{- $blocks = append $blocks (list (printf "sinks.channels.%s." $channel) $sink) -}}
{{- end -}}
{{- range $blocks -}}
{{- $at := index . 0 -}}
{{- $block := index . 1 -}}
{{- range $name, $value := (default (dict) $block.config) -}}
{{- if hasKey $managed $name -}}
{{- $errors = append $errors (printf "%sconfig.%s: the chart sets %s itself from %s; set that instead" $at $name $name (get $managed $name)) -}}
{{- else if include "peer-support-bridge.isSecretSetting" $name -}}
{{- $errors = append $errors (printf "%sconfig.%s: %s is a secret and never goes into a plain value; reference an existing Secret with %ssecretEnv.%s: {name: <secret>, key: <key>}" $at $name $name $at $name) -}}
{{- end -}}
{{- end -}}
{{- range $name, $ref := (default (dict) $block.secretEnv) -}}
{{- if hasKey $managed $name -}}
{{- $errors = append $errors (printf "%ssecretEnv.%s: the chart sets %s itself from %s; set that instead" $at $name $name (get $managed $name)) -}}
{{- end -}}
{{- end -}}
{{- range $entry := (default (list) $block.extraEnvVars) -}}
{{- $name := toString $entry.name -}}
{{- if and (hasPrefix "PSB_" $name) (hasKey $entry "value") -}}
{{- if hasKey $managed $name -}}
{{- $errors = append $errors (printf "%sextraEnvVars: the chart sets %s itself from %s; set that instead" $at $name (get $managed $name)) -}}
{{- else if include "peer-support-bridge.isSecretSetting" $name -}}
{{- $errors = append $errors (printf "%sextraEnvVars: %s is a secret and never goes into a plain value; reference an existing Secret with %ssecretEnv.%s: {name: <secret>, key: <key>}" $at $name $at $name) -}}
{{- else -}}
{{- $errors = append $errors (printf "%sextraEnvVars: %s is a setting; put it in %sconfig, where the chart checks it" $at $name $at) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Insecure choices: each needs its security.allowInsecure flag. */ -}}
{{- range include "peer-support-bridge.insecureChoices" . | fromYamlArray -}}
{{- if not (index $values.security.allowInsecure .flag) -}}
{{- $errors = append $errors (printf "%s: %s. Either %s, or allow it with security.allowInsecure.%s: true" .key .what .fix .flag) -}}
{{- end -}}
{{- end -}}

{{- /* Egress peers' addresses limit egress only where egress is limited. */ -}}
{{- $np := $values.networkPolicy -}}
{{- $listed := list -}}
{{- range $peer := list "kafka" "smtp" "http" "fhir" "ldap" -}}
{{- if (index $np.egress $peer).cidrs -}}
{{- $listed = append $listed (printf "networkPolicy.egress.%s.cidrs" $peer) -}}
{{- end -}}
{{- end -}}
{{- if and $listed (not $np.enabled) -}}
{{- $errors = append $errors (printf "%s: egress is limited to these addresses by the chart's NetworkPolicies, but networkPolicy.enabled is false; enable them, or leave the lists empty" (join ", " $listed)) -}}
{{- else if and $listed $np.allowExternalEgress -}}
{{- $errors = append $errors (printf "%s: egress is limited to these addresses only when networkPolicy.allowExternalEgress is false (true lets the pods connect anywhere); set it to false" (join ", " $listed)) -}}
{{- end -}}

{{- /* Kafka */ -}}
{{- if and $values.kafka.strimzi.enabled (not $values.kafka.strimzi.clusterName) -}}
{{- $errors = append $errors "kafka.strimzi.clusterName: KafkaTopics are rendered for the Strimzi topic operator; name the Kafka cluster it manages" -}}
{{- end -}}
{{- $sasl := $values.kafka.sasl -}}
{{- $oauth := and $sasl.enabled (eq $sasl.mechanism "OAUTHBEARER") -}}
{{- if and $sasl.enabled (not $sasl.existingSecret) -}}
{{- $errors = append $errors (printf "kafka.sasl.existingSecret: SASL is enabled; name the existing Secret holding the %s" (ternary "OAuth client secret" "password" $oauth)) -}}
{{- end -}}
{{- if and $oauth (not $sasl.oauthbearer.tokenEndpointUrl) -}}
{{- $errors = append $errors "kafka.sasl.oauthbearer.tokenEndpointUrl: the mechanism is OAUTHBEARER; set the https:// token endpoint of your identity provider" -}}
{{- end -}}
{{- if and $oauth (not $sasl.oauthbearer.clientId) -}}
{{- $errors = append $errors "kafka.sasl.oauthbearer.clientId: the mechanism is OAUTHBEARER; set the OAuth client id" -}}
{{- end -}}
{{- if and $sasl.enabled (not $oauth) (not $sasl.username) (not $sasl.usernameKey) -}}
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
{{- $stopTimeout := float64 (default 30 (index (default (dict) $worker.config) "PSB_WORKER_STOP_TIMEOUT_S")) -}}
{{- if ge $stopTimeout (float64 $worker.terminationGracePeriodSeconds) -}}
{{- $errors = append $errors (printf "worker.config.PSB_WORKER_STOP_TIMEOUT_S: %v s is not under worker.terminationGracePeriodSeconds (%v s); Kubernetes would kill the worker before it logs why it stopped; lower it or raise the grace period" $stopTimeout $worker.terminationGracePeriodSeconds) -}}
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
