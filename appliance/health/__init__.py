"""Fleet reporting over MQTT (DESIGN §8): health, alerts, events, commands, Home Assistant.

The daemon creates a :class:`appliance.health.publisher.FleetPublisher` only when the ``[fleet]``
table is configured; paho is imported then and never otherwise.
"""
