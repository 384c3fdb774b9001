package api

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
)

// normalize checks a job config for jobType and fills its defaults.
func (j *JobConfig) normalize(jobType string) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	j.JobName = strings.TrimSpace(j.JobName)
	j.JobID = strings.TrimSpace(j.JobID)
	if j.JobName == "" {
		j.JobName = strings.TrimSuffix(j.JobID, "-"+jobType)
	}
	if j.JobName == "" {
		add("job_name: required")
	}
	if j.JobID == "" {
		j.JobID = j.JobName
	}
	if j.JobID != "" && !strings.HasSuffix(j.JobID, "-"+jobType) {
		j.JobID += "-" + jobType
	}
	if strings.ContainsAny(j.JobID, " /?#%\t\n") {
		add("job_id %q: must not contain spaces, '/', '?', '#' or '%%'", j.JobID)
	}
	if j.Failover == nil {
		t := true
		j.Failover = &t
	}
	if j.SrcTask == nil {
		add("src_task: required")
	}
	if j.DestTask == nil {
		add("dest_task: required")
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	s, d := j.SrcTask, j.DestTask
	s.TaskName, d.TaskName = taskName(s.TaskName, config.RoleSource), taskName(d.TaskName, config.RoleDest)
	if s.TaskName != config.RoleSource {
		add("src_task.task_name: must be %q (or \"source\"), got %q", config.RoleSource, s.TaskName)
	}
	if d.TaskName != config.RoleDest {
		add("dest_task.task_name: must be %q (or \"dst\", \"destination\"), got %q", config.RoleDest, d.TaskName)
	}
	if !*j.Failover && (s.NodeID == "" || d.NodeID == "") {
		add("failover=false pins each task to its node: src_task.node_id and dest_task.node_id are required")
	}
	kafka := jobType == JobTypeSubscription
	switch {
	case kafka && d.MysqlConnectionConfig != nil:
		add("dest_task.mysql_connection_config: a subscription job writes to Kafka; use kafka_broker_addrs and kafka_topic")
	case kafka && len(d.KafkaBrokerAddrs) == 0:
		add("dest_task.kafka_broker_addrs: required for a subscription job")
	case !kafka && len(d.KafkaBrokerAddrs) > 0:
		add("dest_task.kafka_broker_addrs: a %s job writes to MySQL; use /v2/job/subscription for Kafka", jobType)
	}
	src, dest := j.tasks()
	src.Defaults()
	dest.Defaults()
	errs = append(errs, prefixed("src_task.", src.Validate(config.RoleSource))...)
	if _, err := filter.New(src); err != nil {
		errs = append(errs, prefixed("src_task.", err)...)
	}
	errs = append(errs, prefixed("dest_task.", dest.Validate(config.RoleDest))...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	j.fromTasks(src, dest, kafka)
	return nil
}

// taskNameAliases are the other names dtle 3.x took for the tasks.
var taskNameAliases = map[string]string{"source": config.RoleSource, "dst": config.RoleDest, "destination": config.RoleDest}

// taskName is a task_name as the driver names the task: role when empty,
// the role an alias stands for (in any case), else name unchanged.
func taskName(name, role string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case n == "":
		return role
	case n == config.RoleSource || n == config.RoleDest:
		return n
	case taskNameAliases[n] != "":
		return taskNameAliases[n]
	}
	return name
}

// prefixed names the task in each of the (joined) errors of err.
func prefixed(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, prefixed(prefix, e)...)
		}
		return out
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}
