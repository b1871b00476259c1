"""The composition root: everything the web app, the CLI and the workers share, built once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from redis import Redis
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from app.channels.at_sms import AtSmsBackend
from app.channels.sms_out import ConsoleBackend, SmsBackend
from app.db.models import SendLane
from app.db.session import make_engine, make_sessionmaker
from app.engine import Engine, check_flows, load_flows
from app.engine.flow import Capabilities, Flow
from app.i18n import Catalogs
from app.pb.drafts import DraftStore, MemoryDraftStore, RedisDraftStore
from app.pb.flow_support import PbFlows
from app.pb.sms_votes import PbKeywords
from app.pb.voters import Keyring
from app.pmc import sms_pmc
from app.services.dispatch import Dispatcher, InlineDispatcher, RqDispatcher
from app.services.flow_host import build_capabilities, effect_handlers
from app.services.hop_cache import HopCache, Revision
from app.services.inbound_sms import InboundSmsHandler
from app.services.send_rate import SendRateLimiter
from app.services.sms_basics import build_keywords
from app.services.sms_sender import SmsSender
from app.services.ussd import UssdGateway
from app.services.ussd_sessions import MemorySessionStore, RedisSessionStore, SessionStore
from app.settings import Settings
from app.tickets.desk import Desk
from app.tickets.sla import parse_policy
from app.tickets.sms_tickets import TicketKeywords

# Seconds a Redis command may take. A Redis that stopped answering must not hold a USSD hop
# (the phone is waiting; AT gives up after 15 s): the hop fails fast and ends with an apology.
# rq's workers open their own connection for their long blocking reads.
REDIS_TIMEOUT = 1.0


@dataclass
class Runtime:
    settings: Settings
    db: DbEngine
    sessions: sessionmaker[Session]
    redis: Redis | None
    catalogs: Catalogs
    capabilities: Capabilities
    flows: dict[str, Flow]
    engine: Engine
    ussd: UssdGateway
    inbound_sms: InboundSmsHandler
    sms_sender: SmsSender
    dispatcher: Dispatcher
    keyring: Keyring
    desk: Desk  # complaint tickets' SLA policy and catalogs (app.tickets.desk)
    drafts: DraftStore | None = None  # unconfirmed USSD ballots (app.pb.drafts)

    def close(self) -> None:
        self.db.dispose()
        if self.redis is not None:
            self.redis.close()


def load_checked_flows(settings: Settings, catalogs: Catalogs,
                       capabilities: Capabilities) -> dict[str, Flow]:
    """Flows that passed every check, or FlowError naming each `file:node` at fault."""
    flows = load_flows(settings.flows_dir)
    gettexts = {language: catalogs.gettext_for(language) for language in catalogs.languages}
    check_flows(flows, capabilities, gettexts, settings.ussd_max_chars)
    return flows


def build_sms_backend(settings: Settings) -> SmsBackend:
    """AT's SDK, constructed once here, when credentials are set; the console otherwise."""
    if settings.at_username and settings.at_api_key:
        return AtSmsBackend.connect(settings.at_username, settings.at_api_key,
                                    settings.at_api_url)
    return ConsoleBackend()


def connect_redis(url: str) -> Redis:
    """Baraza's Redis client: every command and connection bounded by REDIS_TIMEOUT."""
    return Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)


def build_runtime(settings: Settings) -> Runtime:
    db = make_engine(settings.database_url)
    sessions = make_sessionmaker(db)
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    catalogs = Catalogs(settings.locales_dir)
    keyring = Keyring.from_secret(settings.ballot_key)
    drafts: DraftStore = RedisDraftStore(redis) if redis is not None else MemoryDraftStore()
    revision = Revision(redis)  # of places, cycles, proposals: what USSD hops cache
    revision.track(sessions)
    pb_flows = PbFlows(sessions, keyring, drafts, catalogs.gettext_for, revision=revision)
    desk = Desk(parse_policy(settings.ticket_sla_hours), catalogs.gettext_for)
    capabilities = build_capabilities(pb_flows, desk)
    flows = load_checked_flows(settings, catalogs, capabilities)
    engine = Engine(flows, capabilities, catalogs.gettext_for, settings.ussd_max_chars)
    store: SessionStore = (
        RedisSessionStore(redis, settings.ussd_session_ttl) if redis is not None
        else MemorySessionStore(settings.ussd_session_ttl)
    )
    keywords = build_keywords(PbKeywords(keyring, drafts).register,
                              partial(sms_pmc.register, desk=desk), TicketKeywords(desk).register)
    inbound_sms = InboundSmsHandler(sessions, catalogs.gettext_for, keywords)
    sms_sender = SmsSender(sessions, build_sms_backend(settings), settings.sms_batch_size,
                           limiter=SendRateLimiter(redis, settings.sms_rate_per_second),
                           default_hours=settings.campaign_hours)
    dispatcher: Dispatcher = (
        RqDispatcher(redis, settings.sms_batch_size) if redis is not None
        else InlineDispatcher(inbound_sms, sms_sender)
    )
    ussd = UssdGateway(engine, store, sessions, catalogs.gettext_for,
                       handlers=effect_handlers(pb_flows, desk),
                       send_replies=lambda ids: dispatcher.send_sms(ids, SendLane.REPLY),
                       cache=HopCache(revision))
    return Runtime(settings, db, sessions, redis, catalogs, capabilities, flows, engine, ussd,
                   inbound_sms=inbound_sms, sms_sender=sms_sender, dispatcher=dispatcher,
                   keyring=keyring, drafts=drafts, desk=desk)
