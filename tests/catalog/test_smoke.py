from app.catalog import services as catalog


def test_complete_offer_publishes_and_is_visible(make_offer, users):
    offer = make_offer()
    assert offer.status == "published"
    assert offer.margin == catalog.current_price(offer)[0] - offer.cost
    assert catalog.is_visible(users["consumer"], offer)
    visible = catalog.visible_offers_query(users["consumer"])
    from app.extensions import db

    assert [o.code for o in db.session.scalars(visible)] == ["VPN-ACCESS"]
