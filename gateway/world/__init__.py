"""The simulated world (hotline, agencies, broker, gateway) and its work orders, shared by
the demo, the tests and `lianxin simulators`: `simulated` builds it, `orders` is what the
hotline submits, `broker` finds an MQTT broker for the utilities."""

#: agency → (path of its endpoint, case-number prefix); the hotline takes the callbacks
AGENCIES = {
    "tax-12366": ("/orders", "SW"),
    "city-management": ("/orders", "CG"),
    "fire-119": ("/incidents", "F119"),
    "ambulance-120": ("/incidents", "A120"),
    "police-110": ("/jcj", "JCJ"),
    "customs-12360": ("/cases", "HG"),
}
REST_AGENCIES = ("tax-12366", "city-management", "fire-119", "ambulance-120")
UTILITIES = ("water-utility", "power-utility", "gas-utility", "heat-utility")
