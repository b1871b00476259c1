"""HTTP edges: AT's callbacks, health, the simulator. Thin: parse, call a service, answer."""
