"""`python -m tests.reliability.seed_world`: the test city of tests/conftest.py (a service
area, roads handling potholes) in the database of DATABASE_URL, for application processes
started by the fault tests. Prints the number of a first report."""

import django

django.setup()

from reports.services import Contact, report_create  # noqa: E402
from tests import factories as f  # noqa: E402


def main() -> None:
    c = f.centre()
    area = f.ServiceAreaFactory(geometry=f.square(c.x, c.y, 10_000))
    f.DistrictFactory(code="all", geometry=area.geometry)
    roads = f.DepartmentFactory(code="roads", name_uk="Міськдор", name_en="City Roads")
    group = f.CategoryGroupFactory(code="infra")
    pothole = f.CategoryFactory(service_code="pothole", group=group, name_uk="Яма",
                                name_en="Pothole")
    f.ResponsibilityAreaFactory(department=roads, name="Roads citywide",
                                geometry=area.geometry, categories=[pothole])
    report = report_create(category=pothole, location=c, description="First pothole",
                           contact=Contact(email="first@example.org"))
    print(report.pk)


if __name__ == "__main__":
    main()
