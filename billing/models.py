"""Tables of billing: the dated tariff and act catalogues, the billing records with their lines
(immutable once issued), and the CPAM claims imported for reconciliation."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from billing.types import Money, ScaledDecimal
from registry.timeutil import UTCDateTime, utcnow


class Zone(StrEnum):
    METROPOLE = "metropole"
    DROM = "drom"

    @property
    def label(self) -> str:
        return {Zone.METROPOLE: "France métropolitaine", Zone.DROM: "Outre-mer (DROM)"}[self]


class Tariff(SQLModel, table=True):
    """A letter value (AMI) or a fixed amount (MCI, IFD, IK per km, majorations) in one zone, in
    force from `valid_from` to `valid_to` (inclusive; open when empty). A revaluation is a new
    row; the row it follows only gets its `valid_to`."""

    __tablename__ = "tariff"
    __table_args__ = (sa.UniqueConstraint("code", "zone", "valid_from", name="uq_tariff_dated"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16)
    zone: str = Field(max_length=10)
    label: str = Field(max_length=200)
    value: Decimal = Field(sa_type=Money(), nullable=False)
    valid_from: date
    valid_to: date | None = Field(default=None)
    source: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="catalogue", max_length=255)


class ActRule(SQLModel, table=True):
    """How an act is coded: its key letter and coefficient when `count` people of the household
    receive it (`min_count` ≤ count ≤ `max_count`), plus the fixed amounts billed with it."""

    __tablename__ = "act_rule"
    __table_args__ = (
        sa.UniqueConstraint("act", "min_count", "valid_from", name="uq_act_rule_dated"),
    )

    id: int | None = Field(default=None, primary_key=True)
    act: str = Field(max_length=8)
    label: str = Field(max_length=200)
    letter: str = Field(max_length=8)
    coefficient: Decimal = Field(sa_type=ScaledDecimal(2), nullable=False)
    extras: str = Field(default="", max_length=40)  # fixed-amount codes billed with it ("MCI")
    min_count: int = Field(default=1)
    max_count: int | None = Field(default=None)
    valid_from: date
    valid_to: date | None = Field(default=None)
    source: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="catalogue", max_length=255)


class RecordKind(StrEnum):
    INVOICE = "invoice"
    CREDIT = "credit"

    @property
    def label(self) -> str:
        return {RecordKind.INVOICE: "Facture", RecordKind.CREDIT: "Avoir"}[self]


class BillingCounter(SQLModel, table=True):
    """The last number a nurse's records took: numbers follow each other without gaps."""

    __tablename__ = "billing_counter"

    nurse_id: int = Field(foreign_key="nurse.id", primary_key=True)
    last_number: int = Field(default=0)


class BillingRecord(SQLModel, table=True):
    """A zero-advance bill for one visit (or the credit that cancels one). It copies every fact it
    bills, so it stays whole after the request's identity is pseudonymised, and is never changed
    once issued (the database refuses it)."""

    __tablename__ = "billing_record"
    __table_args__ = (
        sa.UniqueConstraint("nurse_id", "number", name="uq_billing_record_number"),
        # One VDSI per index patient episode: a single original invoice per request; each record
        # is credited at most once and replaced at most once.
        sa.Index(
            "uq_billing_record_episode",
            "request_id",
            unique=True,
            sqlite_where=sa.text("kind = 'invoice' AND replaces_id IS NULL"),
            postgresql_where=sa.text("kind = 'invoice' AND replaces_id IS NULL"),
        ),
        sa.Index("ix_billing_record_cpam_date", "cpam_code", "care_date"),
        sa.Index("ix_billing_record_nurse_date", "nurse_id", "care_date"),
        sa.Index("ix_billing_record_department_date", "department", "care_date"),
        sa.CheckConstraint("patient_share = 0", name="ck_billing_record_zero_advance"),
        sa.CheckConstraint(
            "(kind = 'credit') = (cancels_id IS NOT NULL)", name="ck_billing_record_credit"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    nurse_id: int = Field(foreign_key="nurse.id")
    number: int
    kind: str = Field(default=RecordKind.INVOICE, max_length=8)
    request_id: int = Field(foreign_key="visit_request.id", index=True)
    report_id: int | None = Field(default=None, foreign_key="visit_report.id")
    cancels_id: int | None = Field(default=None, foreign_key="billing_record.id", unique=True)
    replaces_id: int | None = Field(default=None, foreign_key="billing_record.id", unique=True)
    reason: str = Field(default="", max_length=500)
    cpam_code: str = Field(max_length=3)
    nurse_rpps: str = Field(max_length=11)
    nurse_am_number: str = Field(max_length=9)
    nurse_name: str = Field(max_length=210)
    patient_nir: str = Field(max_length=15, index=True)
    patient_last_name: str = Field(max_length=100)
    patient_first_name: str = Field(max_length=100)
    patient_birth_date: date
    commune: str = Field(max_length=100)
    insee: str = Field(max_length=5, index=True)
    department: str = Field(max_length=3)
    zone: str = Field(max_length=10)
    cared_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    care_date: date  # the local day of care, which decides the tariff and the majorations
    prescriber_name: str = Field(max_length=60)
    prescriber_number: str = Field(max_length=11)
    exoneration: str = Field(max_length=20)
    third_party: bool = Field(default=True)
    total: Decimal = Field(sa_type=Money(), nullable=False)
    patient_share: Decimal = Field(sa_type=Money(), nullable=False)
    mountain: bool = Field(default=False)
    # The patient lives in the practice's commune (its agglomeration): no IK are due.
    same_commune: bool = Field(default=False)
    ik_estimate_km: Decimal | None = Field(default=None, sa_type=ScaledDecimal(1))
    ik_declared_km: Decimal | None = Field(default=None, sa_type=ScaledDecimal(1))
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    issued_by: str = Field(max_length=255)

    @property
    def amo_amount(self) -> Decimal:
        return self.total - self.patient_share

    @property
    def reference(self) -> str:
        return f"{self.nurse_rpps}-{self.number:06d}"

    @property
    def kind_label(self) -> str:
        return RecordKind(self.kind).label


class BillingLine(SQLModel, table=True):
    __tablename__ = "billing_line"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="billing_record.id", index=True)
    position: int
    act: str = Field(default="", max_length=8)  # VDSI, TAG, PCR, or empty for fees
    code: str = Field(max_length=8)  # AMI, MCI, IFD, IK, F
    label: str = Field(max_length=200)
    coefficient: Decimal | None = Field(default=None, sa_type=ScaledDecimal(2))
    unit_price: Decimal = Field(sa_type=Money(), nullable=False)
    quantity: int = Field(default=1)
    amount: Decimal = Field(sa_type=Money(), nullable=False)


class Classification(StrEnum):
    MATCHED = "matched"
    AMOUNT_MISMATCH = "amount_mismatch"
    CLAIM_WITHOUT_REQUEST = "claim_without_request"
    VISIT_NOT_BILLED = "visit_not_billed"
    DUPLICATE_CLAIM = "duplicate_claim"
    CLAIM_BEFORE_VISIT = "claim_before_visit"
    IK_ABOVE_ESTIMATE = "ik_above_estimate"

    @property
    def label(self) -> str:
        return CLASSIFICATION_LABELS[self]


CLASSIFICATION_LABELS = {
    Classification.MATCHED: "Conforme",
    Classification.AMOUNT_MISMATCH: "Montant différent",
    Classification.CLAIM_WITHOUT_REQUEST: "Facturé sans demande de la plateforme",
    Classification.VISIT_NOT_BILLED: "Visite non facturée",
    Classification.DUPLICATE_CLAIM: "Facturation en double",
    Classification.CLAIM_BEFORE_VISIT: "Facturé avant la visite",
    Classification.IK_ABOVE_ESTIMATE: "IK au-delà de l'estimation",
}


class ClaimImport(SQLModel, table=True):
    """One claims extract imported by CPAM staff, whole or not at all."""

    __tablename__ = "claim_import"

    id: int | None = Field(default=None, primary_key=True)
    cpam_code: str = Field(max_length=3, index=True)
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64, unique=True)  # the same file twice is refused
    # The same claims twice too, however laid out (headings renamed, dates rewritten…).
    claims_sha256: str = Field(max_length=64, unique=True)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    imported_by: str = Field(max_length=255)
    line_count: int
    claim_count: int
    period_from: date
    period_to: date
    counts: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    mapping: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class ReconciliationItem(SQLModel, table=True):
    """A claim of the extract with its class, or a platform record no claim covers."""

    __tablename__ = "reconciliation_item"
    __table_args__ = (
        sa.Index("ix_reconciliation_item_import_class", "import_id", "classification"),
    )

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="claim_import.id")
    classification: str = Field(max_length=24)
    num_am: str = Field(default="", max_length=9)
    nir: str = Field(default="", max_length=15)
    care_date: date
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    record_id: int | None = Field(default=None, foreign_key="billing_record.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="visit_request.id")
    insee: str = Field(default="", max_length=5)
    commune: str = Field(default="", max_length=100)
    claimed_amount: Decimal | None = Field(default=None, sa_type=Money())
    paid_amount: Decimal | None = Field(default=None, sa_type=Money())
    expected_amount: Decimal | None = Field(default=None, sa_type=Money())
    claimed_ik_km: Decimal | None = Field(default=None, sa_type=ScaledDecimal(1))
    expected_ik_km: Decimal | None = Field(default=None, sa_type=ScaledDecimal(1))
    first_line: int | None = Field(default=None)
    # [{line, code, coefficient, montant, montant_rembourse}] as strings, as the file had them.
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    detail: str = Field(default="", max_length=500)

    @property
    def classification_label(self) -> str:
        return Classification(self.classification).label
