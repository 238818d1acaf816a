"""`onecard bench NAME`: run one measured workload from benchmarks/ against the configured database."""

import json

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from benchmarks import REGISTRY, format_table, load


class Command(BaseCommand):
    help = "Run a benchmark (search, ...) against the configured database; the last line is JSON."
    # Measures whatever is installed; URL checks belong to `onecard check`.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(REGISTRY), help="which workload")
        parser.add_argument(
            "--members",
            type=int,
            default=1_000_000,
            help="members the demo merchant should have (seeded if fewer)",
        )
        parser.add_argument(
            "--samples", type=int, default=None, help="measured runs per case (default 200; checkout 500)"
        )
        parser.add_argument(
            "--warmup", type=int, default=None, help="unmeasured runs first (default samples/10)"
        )
        parser.add_argument("--seed", type=int, default=20261125, help="random seed for the inputs")
        parser.add_argument("--explain", action="store_true", help="print the query plan of each case")
        parser.add_argument("--no-seed", action="store_true", help="measure what is there, seed nothing")
        # ledger
        parser.add_argument(
            "--seconds", type=float, default=10.0, help="ledger: seconds per point (default 10)"
        )
        parser.add_argument("--cards", type=int, default=1000, help="ledger: cards charged (default 1,000)")
        parser.add_argument(
            "--clients",
            default="1,4,16",
            help="ledger: worker/client counts, comma-separated (default 1,4,16)",
        )
        parser.add_argument("--skip-http", action="store_true", help="ledger: leave out the HTTP API part")
        parser.add_argument("--skip-sqlite", action="store_true", help="ledger: leave out the SQLite part")
        parser.add_argument("--skip-pgbench", action="store_true", help="ledger: leave out pgbench")
        # checkout
        parser.add_argument(
            "--products", type=int, default=3000, help="checkout: catalogue size (default 3,000)"
        )
        parser.add_argument(
            "--promotions", type=int, default=200, help="checkout: active promotions (default 200)"
        )
        parser.add_argument("--lines", type=int, default=20, help="checkout: lines per cart (default 20)")
        parser.add_argument(
            "--coupons", type=int, default=10, help="checkout: coupons presented (default 10)"
        )
        parser.add_argument(
            "--tills",
            type=int,
            default=4,
            help="checkout: concurrent tills on PostgreSQL (default 4; 0: none)",
        )
        parser.add_argument("--profile", action="store_true", help="checkout: print a cProfile of the quote")
        # analytics
        parser.add_argument(
            "--history-lines",
            type=int,
            default=10_000_000,
            help="analytics: demo history sale lines the demo merchant should have (seeded if fewer)",
        )
        parser.add_argument(
            "--skip-rebuild",
            action="store_true",
            help="analytics: leave out timing facts.rebuild (minutes at 10M lines)",
        )

    def handle(self, *args, name, **options):
        if options["seconds"] <= 0 or options["cards"] < 2:
            raise CommandError("--seconds must be above 0 and --cards 2 or more")
        if min(options["products"], options["lines"], options["coupons"]) < 1 or options["promotions"] < 0:
            raise CommandError("--products, --lines and --coupons must be 1 or more, --promotions 0 or more")
        if options["lines"] > options["products"] or options["tills"] < 0:
            raise CommandError("--lines cannot exceed --products; --tills must be 0 or more")
        self._migrated_first(options)
        module = load(name)
        if options["samples"] is None:
            options["samples"] = getattr(module, "DEFAULT_SAMPLES", 200)
        if options["samples"] < 1:
            raise CommandError("--samples must be 1 or more")
        if options["warmup"] is None:
            options["warmup"] = max(1, min(20, options["samples"] // 10))
        options["stdout"] = self.stdout
        result = module.run(options)
        self.stdout.write("")
        self.stdout.write(format_table(result["cases"]))
        failed = [c["case"] for c in result["cases"] if not c["pass"]]
        self.stdout.write(f"{len(result['cases']) - len(failed)}/{len(result['cases'])} cases within target")
        self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=True))

    def _migrated_first(self, options):
        """A benchmark needs the schema: migrate an unmigrated database, or say what to run with --no-seed."""
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if not pending:
            return
        where = connection.settings_dict["NAME"]
        if options["no_seed"]:
            raise CommandError(
                f"The database {where} is not migrated ({len(pending)} migrations pending) and --no-seed "
                "measures what is there. Run `onecard migrate` (and `onecard seed-demo`) first."
            )
        self.stdout.write(f"The database {where} is not migrated: applying {len(pending)} migrations first.")
        call_command("migrate", interactive=False, verbosity=0)
