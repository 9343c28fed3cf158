"""Import every domain's models so metadata (and Alembic) sees all tables."""

from .accounts.models import (  # noqa: F401
    ApiToken,
    ConsumerGroup,
    LoginAttempt,
    User,
    UserIdentity,
    UserRole,
)
from .audit.models import AuditEvent  # noqa: F401
from .catalog.models import (  # noqa: F401
    BundleMember,
    Category,
    DigitalProduct,
    OfferSettings,
    PriceChange,
    ProductRelease,
    ServiceOffer,
)
from .integrations.models import DeliveryAttempt, Integration, Webhook, WebhookDelivery  # noqa: F401
from .knowledge.models import ArticleFeedback, KnowledgeArticle, offer_articles  # noqa: F401
from .notifications.models import Notification, OutboxEmail  # noqa: F401
from .status.models import NoticeUpdate, ServiceNotice, UsageMetric, UsageRecord  # noqa: F401
from .subscriptions.models import FulfillmentTask, Order, ServiceContract, Subscription  # noqa: F401
from .support.models import (  # noqa: F401
    Attachment,
    BacklogItem,
    Deflection,
    Incident,
    RequestMessage,
    SupportRequest,
)
from .worker.models import JobMark, JobRun  # noqa: F401
