"""The alert manager behind the rule engine: dedupe, grouping, silences, inhibition,
acknowledgement, repeats and escalation, and the notifiers (webhook, SMTP, MQTT, DingTalk,
WeCom, Feishu)."""
