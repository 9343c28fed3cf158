"""Knowledge articles: self-help readers rate, linked to the offers they help with. The catalog
(an offer's Knowledge tab) and support (suggestions while asking for help) use this domain."""
