"""The CampusGuard Raspberry Pi sensor node.

Drivers (DS18B20 over 1-Wire sysfs, BME280 over I2C, PZEM-004T v3 over Modbus RTU, GPIO
contacts through gpiozero) keep their byte-level logic pure and their IO small; the node reads
them every interval and publishes the Pi-node MQTT schema (see :mod:`hardware.pinode.schema`)
that the collector's ``campusguard_pi`` profile decodes, with a retained availability topic
(the MQTT will), Home Assistant discovery, and a bounded buffer while the broker is away.
"""
