"""Flow telemetry: pure decoders of NetFlow v5/v9, IPFIX and sFlow v5 export datagrams."""
