"""The fleet side: watching, commanding and collecting the boxes over MQTT (DESIGN §8)."""
