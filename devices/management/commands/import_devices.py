"""Import devices from a CSV file, as the web import does, for automation."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from devices.csv_io import CsvFormatError, ImportInterrupted, ImportRejected, apply_import, decode_upload, plan_import


class Command(BaseCommand):
    help = (
        "Create or update devices from a CSV file (columns name,hwid,macs,owner_name,owner_email,notes). "
        "All or nothing: any bad row stops the import unless --valid-rows-only."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8, comma or semicolon).")
        parser.add_argument("--valid-rows-only", action="store_true", help="Import the valid rows and skip the rest.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")

    def handle(self, *args, file: str, valid_rows_only: bool, dry_run: bool, **options):
        try:
            with open(file, "rb") as handle:
                text = decode_upload(handle.read())
            if dry_run:
                plan = plan_import(text)
            else:
                result = apply_import(text, valid_rows_only=valid_rows_only)
                plan = result.plan
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except CsvFormatError as exc:
            raise CommandError(f"{file}: {exc} Nothing was imported.") from None
        except ImportInterrupted as exc:
            raise CommandError(f"{file}: {exc}") from None
        except ImportRejected as exc:
            self._report_errors(exc.plan)
            raise CommandError(f"{file}: {exc} Use --valid-rows-only to skip bad rows.") from None
        self._report_errors(plan)
        s = plan.summary
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {file}: {s['create']} created, {s['update']} updated, "
            f"{s['unchanged']} unchanged, {s['errors']} skipped."
        )
        if dry_run and s["errors"]:
            raise CommandError(f"{s['errors']} row(s) have errors.")

    def _report_errors(self, plan) -> None:
        for row in plan.error_rows:
            self.stderr.write(f"line {row.line}: " + " ".join(row.errors))
