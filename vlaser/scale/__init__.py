"""Scale-out: the tracking stack (PostgreSQL + MLflow server [+ Prefect server]), Prefect deployments on
work pools with a private DVC workspace per worker, and training stages on several processes.

Modules: ``stack`` (``Stack(folder).up()/down()/status()``), ``postgres`` (``PgCluster``), ``servers``,
``procs``, ``workspaces`` (``worker_workspace``, ``push``, ``pull``), ``entry`` (what the deployable flow
``flows/sweep_entry.py`` runs), ``deploy`` (``deploy``, ``trigger``, ``wait_for``), ``launch`` (the
``torchrun``/``deepspeed`` entry of a training stage). See docs/scaling.md.
"""
