"""Who may do what to a threat product: the buttons its pages offer and the checks before a form is shown.

These mirror the checks of `sharing.services.products`; the services still decide on every write.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import Role, User

from .models import ProductTransition, ThreatProduct
from .services.products import next_state, purged_refusal


class ProductAction(Enum):
    """What a person can do to a product, with the lifecycle step each one takes."""

    EDIT = ProductTransition.Action.EDITED
    SUBMIT = ProductTransition.Action.SUBMITTED
    APPROVE = ProductTransition.Action.APPROVED
    RETURN = ProductTransition.Action.RETURNED
    UPDATE = ProductTransition.Action.NEW_VERSION
    RETRACT = ProductTransition.Action.RETRACTED


REFUSALS = {
    ProductAction.EDIT: "Only the author or their center's analysts and supervisors edit a draft.",
    ProductAction.SUBMIT: "Only the author or their center's analysts and supervisors submit a draft.",
    ProductAction.APPROVE: "Only a supervisor of the originating center other than the author approves a product.",
    ProductAction.RETURN: "Only a supervisor of the originating center other than the author returns a product.",
    ProductAction.UPDATE: "Only analysts and supervisors of the originating center update its products.",
    ProductAction.RETRACT: "Only a supervisor of the originating center retracts a product.",
}


def may_write_products(person: User) -> bool:
    """Whether the person writes threat products at all: fusion center analysts and supervisors."""
    return person.agency.is_fusion_center and person.has_role(Role.ANALYST, Role.SUPERVISOR)


def _is_center_worker(person: User, product: ThreatProduct) -> bool:
    return person.agency_id == product.originating_agency_id and person.has_role(Role.ANALYST, Role.SUPERVISOR)


def _is_center_supervisor(person: User, product: ThreatProduct) -> bool:
    return person.agency_id == product.originating_agency_id and person.has_role(Role.SUPERVISOR)


def may_act(person: User, product: ThreatProduct, action: ProductAction) -> bool:
    """Whether the person's role allows the action on this product, whatever state it is in."""
    if action in (ProductAction.EDIT, ProductAction.SUBMIT):
        return person.pk == product.author_id or _is_center_worker(person, product)
    if action in (ProductAction.APPROVE, ProductAction.RETURN):
        return _is_center_supervisor(person, product) and person.pk != product.author_id
    if action is ProductAction.UPDATE:
        return may_write_products(person) and person.agency_id == product.originating_agency_id
    if action is ProductAction.RETRACT:
        return _is_center_supervisor(person, product)
    return False


def check_may_act(person: User, product: ThreatProduct, action: ProductAction) -> None:
    """PermissionDenied (a 403) for someone who may see the product but not do this to it."""
    if not may_act(person, product, action):
        raise PermissionDenied(REFUSALS[action])


def state_refusal(product: ThreatProduct, action: ProductAction) -> str:
    """Why the action is not possible in the product's present state, or "" when it is."""
    if purged_refusal(product):
        return purged_refusal(product)
    try:
        next_state(product.state, action.value)
    except ValidationError as error:
        return " ".join(error.messages)
    if action is ProductAction.UPDATE and _next_version(product) is not None:
        return "An update of this version is already being written."
    return ""


def _next_version(product: ThreatProduct) -> ThreatProduct | None:
    try:
        return product.next_version
    except ThreatProduct.DoesNotExist:
        return None


def update_being_written(person: User, product: ThreatProduct) -> ThreatProduct | None:
    """The draft of this product's next version, for the people who may work on it."""
    draft = _next_version(product)
    if draft is None or draft.is_released or not may_act(person, product, ProductAction.UPDATE):
        return None
    return draft


@dataclass(frozen=True)
class ProductActions:
    """The buttons a product page offers one person."""

    edit: bool = False
    submit: bool = False
    review: bool = False
    update: bool = False
    retract: bool = False

    @property
    def any(self) -> bool:
        return self.edit or self.submit or self.review or self.update or self.retract


def actions_for(person: User, product: ThreatProduct) -> ProductActions:
    def offered(action: ProductAction) -> bool:
        return may_act(person, product, action) and not state_refusal(product, action)

    return ProductActions(
        edit=offered(ProductAction.EDIT),
        submit=offered(ProductAction.SUBMIT),
        review=offered(ProductAction.APPROVE),
        update=offered(ProductAction.UPDATE),
        retract=offered(ProductAction.RETRACT),
    )
