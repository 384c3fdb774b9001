# A dtle migration job: copy a MySQL/MariaDB source to a destination, then
# keep it in sync from the binlog.
#
#   nomad job run -var src_port=3307 -var dest_port=3308 docs/examples/migration.nomad.hcl
#
# Every task option and its default is listed in README.md.

variable "src_host" {
  type    = string
  default = "127.0.0.1"
}
variable "src_port" {
  type    = number
  default = 3307
}
variable "dest_host" {
  type    = string
  default = "127.0.0.1"
}
variable "dest_port" {
  type    = number
  default = 3308
}
variable "mysql_user" {
  type    = string
  default = "root"
}
variable "mysql_password" {
  type    = string
  default = ""
}
variable "chunk_size" {
  type    = number
  default = 2000
}
variable "job_id" {
  type    = string
  default = "job1-migration"
}

job "migration" {
  id          = var.job_id
  datacenters = ["*"]
  type        = "service"

  meta {
    job_type = "migration"
  }

  # No deployments: a task lost with its node before a deployment's
  # min_healthy_time would fail the deployment, and Nomad places nothing for a
  # failed deployment, so the task would never run again.
  update {
    max_parallel = 0
  }

  # A failed task is not placed anew: it failed on something a person must
  # fix, and a new allocation would only fail the same way. Tasks lost with
  # their node are replaced whatever this says.
  reschedule {
    attempts  = 0
    unlimited = false
  }

  # The tasks run in separate groups so Nomad may place them on different nodes.
  group "src" {
    restart {
      attempts = 3
      interval = "5m"
      delay    = "10s"
      mode     = "fail"
    }

    task "src" {
      driver = "dtle"

      config {
        mysql_connection_config {
          mysql_host     = var.src_host
          mysql_port     = var.src_port
          mysql_user     = var.mysql_user
          mysql_password = var.mysql_password
        }
        chunk_size     = var.chunk_size
        group_max_size = 1

        # Without replicate_do_db: every schema but the system ones.
        # replicate_do_db {
        #   table_schema = "db1"
        #   tables {
        #     table_name = "tb1"
        #   }
        # }
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }

  group "dest" {
    restart {
      attempts = 3
      interval = "5m"
      delay    = "10s"
      mode     = "fail"
    }

    task "dest" {
      driver = "dtle"

      config {
        mysql_connection_config {
          mysql_host     = var.dest_host
          mysql_port     = var.dest_port
          mysql_user     = var.mysql_user
          mysql_password = var.mysql_password
        }
        parallel_workers = 1
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
