{{/*
Insecure choices: each one installs only when its `security.allowInsecure.<flag>` is true
(validateValues refuses it otherwise, naming the flag), and NOTES lists every one in force.
*/}}

{{/*
The value a plain setting gets in one container, as the env helper merges the `config` maps
(later scopes win), with the scope that set it: {value: "...", at: "ingest.config"}; value is
empty when no scope sets it. Call with (dict "name" "PSB_X" "scopes" (list (list "config"
$.Values.config) (list "ingest.config" $.Values.ingest.config))).
*/}}
{{- define "peer-support-bridge.settingValue" -}}
{{- $found := dict "value" "" "at" (index (last .scopes) 0) -}}
{{- range .scopes -}}
{{- $config := default (dict) (index . 1) -}}
{{- if hasKey $config $.name -}}
{{- $value := index $config $.name -}}
{{- if not (kindIs "invalid" $value) -}}
{{- $_ := set $found "value" (include "peer-support-bridge.envValue" $value | trim) -}}
{{- $_ := set $found "at" (index . 0) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $found -}}
{{- end -}}

{{/* "true" when a setting's text is a true boolean to pydantic, "false" when a false one. */}}
{{- define "peer-support-bridge.boolean" -}}
{{- $text := lower (toString .) -}}
{{- if has $text (list "1" "on" "t" "true" "y" "yes") -}}true
{{- else if has $text (list "0" "off" "f" "false" "n" "no") -}}false
{{- end -}}
{{- end -}}

{{/*
The TCP port a URL names: its explicit port, else the scheme's (https 443, http 80, ldaps 636,
ldap 389); empty for an empty URL.
*/}}
{{- define "peer-support-bridge.urlPort" -}}
{{- $url := toString . | trim -}}
{{- if $url -}}
{{- $scheme := lower (regexFind "^[A-Za-z][A-Za-z0-9+.-]*://" $url) -}}
{{- $authority := regexReplaceAll "^[A-Za-z][A-Za-z0-9+.-]*://" $url "" | splitList "/" | first -}}
{{- $authority = regexReplaceAll "^.*@" $authority "" -}}
{{- $port := regexFind "[0-9]+$" (regexFind ":[0-9]+$" $authority) -}}
{{- if $port -}}{{ $port }}
{{- else -}}{{ get (dict "https://" "443" "http://" "80" "ldaps://" "636" "ldap://" "389") $scheme }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The insecure choices these values make, as a YAML list of {flag, key, what, fix}: `flag` its
security.allowInsecure flag, `key` the value that makes it, `what` what it exposes, `fix` the
secure alternative.
*/}}
{{- define "peer-support-bridge.insecureChoices" -}}
{{- $v := .Values -}}
{{- $choices := list -}}
{{- $kafka := $v.kafka -}}
{{- if not $kafka.tls.enabled -}}
{{- $choices = append $choices (dict
  "flag" "kafkaPlaintext" "key" "kafka.tls.enabled"
  "what" (printf "Kafka is spoken without TLS (%s): reports, which may hold patient data, and the Kafka credentials cross the network readable" (include "peer-support-bridge.kafkaSecurityProtocol" .))
  "fix" "set kafka.tls.enabled: true (and kafka.tls.caSecret for a private CA)") -}}
{{- else if not $kafka.tls.checkHostname -}}
{{- $choices = append $choices (dict
  "flag" "kafkaUnverifiedHostname" "key" "kafka.tls.checkHostname"
  "what" "the brokers' host names are not checked against their certificates, so any holder of a certificate from the same CA can pose as a broker"
  "fix" "set kafka.tls.checkHostname: true (with broker certificates that name their hosts)") -}}
{{- end -}}
{{- if $v.ingest.enabled -}}
{{- $scopes := list (list "config" $v.config) (list "ingest.config" $v.ingest.config) -}}
{{- $open := include "peer-support-bridge.settingValue" (dict "name" "PSB_INGEST_ALLOW_UNAUTHENTICATED" "scopes" $scopes) | fromYaml -}}
{{- if eq (include "peer-support-bridge.boolean" $open.value) "true" -}}
{{- $choices = append $choices (dict
  "flag" "ingestUnauthenticated" "key" (printf "%s.PSB_INGEST_ALLOW_UNAUTHENTICATED" $open.at)
  "what" "the ingest API takes reports from any caller, without token or signature"
  "fix" "drop it and name the callers' token in ingest.secretEnv.PSB_INGEST_TOKEN (or a Standard Webhooks secret in PSB_INGEST_WEBHOOK_SECRET)") -}}
{{- end -}}
{{- $bodyHmac := include "peer-support-bridge.settingValue" (dict "name" "PSB_INGEST_ALLOW_BODY_HMAC" "scopes" $scopes) | fromYaml -}}
{{- if eq (include "peer-support-bridge.boolean" $bodyHmac.value) "true" -}}
{{- $choices = append $choices (dict
  "flag" "ingestBodyHmac" "key" (printf "%s.PSB_INGEST_ALLOW_BODY_HMAC" $bodyHmac.at)
  "what" "the ingest API accepts the X-Signature-256 body HMAC, which covers neither a time nor an id, so a captured request can be sent again"
  "fix" "drop it and give the callers a Standard Webhooks secret in ingest.secretEnv.PSB_INGEST_WEBHOOK_SECRET") -}}
{{- end -}}
{{- range $name := list "PSB_INGEST_FHIR_BASE_URL" "PSB_INGEST_FHIR_TOKEN_URL" -}}
{{- $url := include "peer-support-bridge.settingValue" (dict "name" $name "scopes" $scopes) | fromYaml -}}
{{- if hasPrefix "http://" (lower $url.value) -}}
{{- $choices = append $choices (dict
  "flag" "fhirPlaintext" "key" (printf "%s.%s" $url.at $name)
  "what" "the FHIR server is read over plain http: adverse events, which hold patient data, and its credentials cross the network readable"
  "fix" "use its https:// address") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $email := $v.sinks.channels.email -}}
{{- if $email.enabled -}}
{{- $scopes := list (list "config" $v.config) (list "sinks.config" $v.sinks.config) (list "sinks.channels.email.config" $email.config) -}}
{{- $security := include "peer-support-bridge.settingValue" (dict "name" "PSB_SMTP_SECURITY" "scopes" $scopes) | fromYaml -}}
{{- $validate := include "peer-support-bridge.settingValue" (dict "name" "PSB_SMTP_VALIDATE_CERTS" "scopes" $scopes) | fromYaml -}}
{{- if eq (lower $security.value) "none" -}}
{{- $choices = append $choices (dict
  "flag" "smtpPlaintext" "key" (printf "%s.PSB_SMTP_SECURITY" $security.at)
  "what" "email goes to the SMTP server without TLS: the offers and the SMTP password cross the network readable"
  "fix" "use starttls or tls") -}}
{{- else if eq (include "peer-support-bridge.boolean" $validate.value) "false" -}}
{{- $choices = append $choices (dict
  "flag" "smtpUnverified" "key" (printf "%s.PSB_SMTP_VALIDATE_CERTS" $validate.at)
  "what" "the SMTP server's certificate is not verified, so anyone on the path can pose as it"
  "fix" "drop it, and give a private CA as PSB_SMTP_CA_FILE") -}}
{{- end -}}
{{- end -}}
{{- $webhook := $v.sinks.channels.webhook -}}
{{- if $webhook.enabled -}}
{{- $signed := false -}}
{{- range list $v.secretEnv $v.sinks.secretEnv $webhook.secretEnv -}}
{{- if (get (get (default (dict) .) "PSB_WEBHOOK_SECRET" | default (dict)) "name") -}}
{{- $signed = true -}}
{{- end -}}
{{- end -}}
{{- range concat (default (list) $v.extraEnvVars) (default (list) $v.sinks.extraEnvVars) -}}
{{- if eq (toString .name) "PSB_WEBHOOK_SECRET" -}}
{{- $signed = true -}}
{{- end -}}
{{- end -}}
{{- /* secretFiles may hold psb_webhook_secret; the chart cannot look inside them (NOTES says so) */ -}}
{{- if not (or $signed $v.secretFiles $v.sinks.secretFiles $webhook.secretFiles) -}}
{{- $choices = append $choices (dict
  "flag" "webhookUnsigned" "key" "sinks.channels.webhook.secretEnv.PSB_WEBHOOK_SECRET"
  "what" "the webhook sink posts unsigned requests, so its receiver cannot tell them from forged ones"
  "fix" "name the Secret holding the signing key in sinks.channels.webhook.secretEnv.PSB_WEBHOOK_SECRET.name") -}}
{{- end -}}
{{- end -}}
{{- if $v.directorySync.enabled -}}
{{- $scopes := list (list "config" $v.config) (list "directorySync.config" $v.directorySync.config) -}}
{{- $url := include "peer-support-bridge.settingValue" (dict "name" "PSB_LDAP_URL" "scopes" $scopes) | fromYaml -}}
{{- $startTls := include "peer-support-bridge.settingValue" (dict "name" "PSB_LDAP_START_TLS" "scopes" $scopes) | fromYaml -}}
{{- $cleartext := include "peer-support-bridge.settingValue" (dict "name" "PSB_LDAP_ALLOW_CLEARTEXT_BIND" "scopes" $scopes) | fromYaml -}}
{{- if eq (include "peer-support-bridge.boolean" $cleartext.value) "true" -}}
{{- $choices = append $choices (dict
  "flag" "ldapPlaintext" "key" (printf "%s.PSB_LDAP_ALLOW_CLEARTEXT_BIND" $cleartext.at)
  "what" "the directory sync may bind without TLS: the bind password crosses the network readable"
  "fix" "drop it, and use an ldaps:// PSB_LDAP_URL or PSB_LDAP_START_TLS") -}}
{{- else if and (hasPrefix "ldap://" (lower $url.value)) (ne (include "peer-support-bridge.boolean" $startTls.value) "true") -}}
{{- $choices = append $choices (dict
  "flag" "ldapPlaintext" "key" (printf "%s.PSB_LDAP_URL" $url.at)
  "what" "the directory sync binds to an ldap:// server without StartTLS: the bind password and the staff directory cross the network readable"
  "fix" "use an ldaps:// URL, or set PSB_LDAP_START_TLS: true") -}}
{{- end -}}
{{- end -}}
{{- toYaml $choices -}}
{{- end -}}

{{/* Where a webhook sink's signing key can only be in its secretFiles (for NOTES). */}}
{{- define "peer-support-bridge.webhookKeyInFiles" -}}
{{- $v := .Values -}}
{{- $webhook := $v.sinks.channels.webhook -}}
{{- if and $webhook.enabled (or $v.secretFiles $v.sinks.secretFiles $webhook.secretFiles) -}}
{{- $named := false -}}
{{- range list $v.secretEnv $v.sinks.secretEnv $webhook.secretEnv -}}
{{- if (get (get (default (dict) .) "PSB_WEBHOOK_SECRET" | default (dict)) "name") -}}
{{- $named = true -}}
{{- end -}}
{{- end -}}
{{- if not $named -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The public routes of the components with an Ingress (the code's routes minus /health/* and
/metrics; connectors/ingest/app.py ROUTES, connectors/answers/server.py application()).
*/}}
{{- define "peer-support-bridge.publicRoutes" -}}
ingest:
  - {path: /v1/reports, pathType: Exact}
  - {path: /fhir/AdverseEvent, pathType: Exact}
  - {path: /fhir/subscription, pathType: Exact}
  - {path: /openapi.json, pathType: Exact}
answers:
  - {path: /a/, pathType: Prefix}
{{- end -}}

{{/*
The TCP ports of one egress peer (kafka, smtp, http, fhir, ldap) as a YAML list: those of
networkPolicy.egress.<peer>.ports, else the ones the settings name.
*/}}
{{- define "peer-support-bridge.egressPorts" -}}
{{- $v := .root.Values -}}
{{- $peer := index $v.networkPolicy.egress .peer -}}
{{- $ports := list -}}
{{- if $peer.ports -}}
{{- range $peer.ports -}}
{{- $ports = append $ports (include "peer-support-bridge.envValue" .) -}}
{{- end -}}
{{- else if eq .peer "kafka" -}}
{{- range splitList "," $v.kafka.bootstrapServers -}}
{{- $ports = append $ports (regexFind "[0-9]+$" (trim .)) -}}
{{- end -}}
{{- else if eq .peer "smtp" -}}
{{- $email := $v.sinks.channels.email -}}
{{- $port := include "peer-support-bridge.settingValue" (dict "name" "PSB_SMTP_PORT" "scopes" (list (list "config" $v.config) (list "sinks.config" $v.sinks.config) (list "sinks.channels.email.config" $email.config))) | fromYaml -}}
{{- $ports = list (default "587" $port.value) -}}
{{- else if eq .peer "fhir" -}}
{{- range $name := list "PSB_INGEST_FHIR_BASE_URL" "PSB_INGEST_FHIR_TOKEN_URL" -}}
{{- $url := include "peer-support-bridge.settingValue" (dict "name" $name "scopes" (list (list "config" $v.config) (list "ingest.config" $v.ingest.config))) | fromYaml -}}
{{- $ports = append $ports (include "peer-support-bridge.urlPort" $url.value) -}}
{{- end -}}
{{- else if eq .peer "ldap" -}}
{{- $url := include "peer-support-bridge.settingValue" (dict "name" "PSB_LDAP_URL" "scopes" (list (list "config" $v.config) (list "directorySync.config" $v.directorySync.config))) | fromYaml -}}
{{- $ports = list (include "peer-support-bridge.urlPort" $url.value) -}}
{{- end -}}
{{- toYaml (without (uniq $ports) "") -}}
{{- end -}}
