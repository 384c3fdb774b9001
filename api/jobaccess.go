package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Tenant checks for the routes that name a job or an allocation but do not
// otherwise read the job (lookupJob checks the others).

// checkJobAccess checks that the caller may see job id (lookupJob) and
// holds "<its type>-<op>". A caller who sees every tenant and holds every
// action (the api_token, an open route, a platform admin) is not checked
// against Nomad: the route answers as it did before tenants.
func (s *Server) checkJobAccess(c echo.Context, id, op string) error {
	if cl := callerOf(c); cl.allTenants() && cl.actions == nil {
		return nil
	}
	job, err := s.lookupJob(c, id)
	if err != nil {
		return err
	}
	return requireAction(c, jobType(job)+"-"+op)
}

// checkAllocTenant checks that the caller may see the job of allocation
// allocID (checkJobTenant); one it may not is the same 404 as an
// allocation that does not exist. A caller who sees every tenant is not
// checked against Nomad.
func (s *Server) checkAllocTenant(c echo.Context, allocID string) error {
	if callerOf(c).allTenants() {
		return nil
	}
	q, cancel := s.query(c)
	defer cancel()
	alloc, _, err := s.nomad.Allocations().Info(allocID, q)
	if err != nil {
		if e := nomadError("allocation "+allocID, err); e.Status != http.StatusNotFound {
			return e
		}
		return notFound("allocation_id %q: no such allocation", allocID)
	}
	if alloc.Job == nil || checkJobTenant(c, alloc.Job.Meta, alloc.JobID) != nil {
		return notFound("allocation_id %q: no such allocation", allocID)
	}
	return nil
}
