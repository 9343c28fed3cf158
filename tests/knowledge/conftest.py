from tests.catalog.conftest import catalog_setup, complete_offer_data, make_offer  # noqa: F401
from tests.support.conftest import active_subscription, agents  # noqa: F401
