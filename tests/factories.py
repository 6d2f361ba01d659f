"""factory_boy factories: each test builds only what it needs."""

import factory

from agencies.models import Agency, Jurisdiction, Role, User, role_group

PASSWORD = "correct-horse-battery-staple"


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction

    name = factory.Sequence(lambda n: f"County {n}")
    kind = Jurisdiction.Kind.COUNTY
    fips_code = factory.Sequence(lambda n: f"{90000 + n:05d}")
    parent = None


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    acronym = factory.Sequence(lambda n: f"AG{n}")
    level = Agency.Level.LOCAL
    kind = Agency.Kind.LAW_ENFORCEMENT
    discipline = Agency.Discipline.LAW_ENFORCEMENT
    jurisdiction = factory.SubFactory(JurisdictionFactory)
    email = factory.LazyAttribute(lambda a: f"desk@{a.acronym.lower()}.example.gov")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.gov")
    agency = factory.SubFactory(AgencyFactory)
    is_law_enforcement = False
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        roles = list(extracted or [])
        if create and roles:
            self.groups.set([role_group(Role(role)) for role in roles])
            if Role.SYSTEM_ADMIN in roles:
                self.is_superuser = True
            if {Role.AGENCY_ADMIN, Role.SYSTEM_ADMIN} & set(roles):
                self.is_staff = True
        if create:
            self.save()
