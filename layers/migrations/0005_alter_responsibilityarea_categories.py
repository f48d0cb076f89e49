"""Categories now live in the reports app (state only: the link table is unchanged and its
foreign key follows the renamed `reports_category` table)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('layers', '0004_route_report_function'),
        ('reports', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='responsibilityarea',
                    name='categories',
                    field=models.ManyToManyField(blank=True, help_text='Empty means every category.', related_name='responsibility_areas', to='reports.category'),
                ),
            ],
        ),
    ]
