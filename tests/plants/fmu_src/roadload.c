/* A road-load model as an FMI 2.0 co-simulation FMU (tests/plants/test_fmu*.py build it).
 *
 * Outputs, from the inputs of the step (held over it, as a co-simulation master does):
 *   F_aero  = 0.5 rho cda v^2                         [N]
 *   F_roll  = crr m g          (v > 0.01 m/s, else 0) [N]
 *   F_grade = m g grade                               [N]
 *   F_total = F_aero + F_roll + F_grade               [N]
 * Parameters: m [kg], crr [1], cda [m2], rho [kg/m3]; inputs: v [m/s], grade [1].
 * Errors (status fmi2Error, a logged message): m <= 0 at initialisation; v < 0 or not
 * finite, |grade| > 1 in a step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"

#define N_VARS 9
enum { VR_M, VR_CRR, VR_CDA, VR_RHO, VR_V, VR_GRADE, VR_F_AERO, VR_F_ROLL, VR_F_TOTAL };
/* F_grade has value reference 9 */
#define VR_F_GRADE 9

typedef struct {
    double x[N_VARS + 1];
    double time;
    fmi2CallbackFunctions cb;
    fmi2String name;
} Model;

static void say(Model *m, fmi2Status status, const char *message) {
    if (m->cb.logger) m->cb.logger(m->cb.componentEnvironment, m->name, status, "error", "%s", message);
}

static void outputs(Model *m) {
    const double g = 9.81, v = m->x[VR_V];
    m->x[VR_F_AERO] = 0.5 * m->x[VR_RHO] * m->x[VR_CDA] * v * v;
    m->x[VR_F_ROLL] = v > 0.01 ? m->x[VR_CRR] * m->x[VR_M] * g : 0.0;
    m->x[VR_F_GRADE] = m->x[VR_M] * g * m->x[VR_GRADE];
    m->x[VR_F_TOTAL] = m->x[VR_F_AERO] + m->x[VR_F_ROLL] + m->x[VR_F_GRADE];
}

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }
fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean on, size_t n, const fmi2String cats[]) { return fmi2OK; }

fmi2Component fmi2Instantiate(fmi2String name, fmi2Type type, fmi2String guid, fmi2String res,
                              const fmi2CallbackFunctions *cb, fmi2Boolean visible, fmi2Boolean logging) {
    if (type != fmi2CoSimulation) return NULL;
    Model *m = calloc(1, sizeof(Model));
    m->cb = *cb;
    m->name = name;
    m->x[VR_M] = 1500.0; m->x[VR_CRR] = 0.012; m->x[VR_CDA] = 0.7; m->x[VR_RHO] = 1.2;
    outputs(m);
    return m;
}
void fmi2FreeInstance(fmi2Component c) { free(c); }
fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean tolDef, fmi2Real tol, fmi2Real t0, fmi2Boolean stopDef, fmi2Real t1) {
    ((Model *)c)->time = t0; return fmi2OK;
}
fmi2Status fmi2EnterInitializationMode(fmi2Component c) { return fmi2OK; }
fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    Model *m = c;
    if (!(m->x[VR_M] > 0.0)) { say(m, fmi2Error, "parameter m (vehicle mass) must be > 0 kg"); return fmi2Error; }
    outputs(m);
    return fmi2OK;
}
fmi2Status fmi2Terminate(fmi2Component c) { return fmi2OK; }
fmi2Status fmi2Reset(fmi2Component c) { return fmi2OK; }

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Real value[]) {
    Model *m = c;
    for (size_t i = 0; i < n; i++) { if (vr[i] > N_VARS) return fmi2Error; value[i] = m->x[vr[i]]; }
    return fmi2OK;
}
fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Real value[]) {
    Model *m = c;
    for (size_t i = 0; i < n; i++) { if (vr[i] > VR_GRADE) return fmi2Error; m->x[vr[i]] = value[i]; }
    return fmi2OK;
}
fmi2Status fmi2DoStep(fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean noSetPrior) {
    Model *m = c;
    if (!(m->x[VR_V] >= 0.0) || !isfinite(m->x[VR_V])) { say(m, fmi2Error, "input v must be a finite speed >= 0 m/s"); return fmi2Error; }
    if (!(fabs(m->x[VR_GRADE]) <= 1.0)) { say(m, fmi2Error, "input grade must be within -1 .. 1 (a 45 degree slope)"); return fmi2Error; }
    outputs(m);
    m->time = t + h;
    return fmi2OK;
}

/* Not used by this model. */
fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Integer v[]) { return n ? fmi2Error : fmi2OK; }
fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Boolean v[]) { return n ? fmi2Error : fmi2OK; }
fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2String v[]) { return n ? fmi2Error : fmi2OK; }
fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer v[]) { return n ? fmi2Error : fmi2OK; }
fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Boolean v[]) { return n ? fmi2Error : fmi2OK; }
fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2String v[]) { return n ? fmi2Error : fmi2OK; }
fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *s) { return fmi2Error; }
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate s) { return fmi2Error; }
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *s) { return fmi2Error; }
fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate s, size_t *n) { return fmi2Error; }
fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate s, fmi2Byte b[], size_t n) { return fmi2Error; }
fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte b[], size_t n, fmi2FMUstate *s) { return fmi2Error; }
fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference u[], size_t nu, const fmi2ValueReference z[], size_t nz, const fmi2Real dv[], fmi2Real dz[]) { return fmi2Error; }
fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer o[], const fmi2Real v[]) { return fmi2Error; }
fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer o[], fmi2Real v[]) { return fmi2Error; }
fmi2Status fmi2CancelStep(fmi2Component c) { return fmi2Error; }
fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status *v) { return fmi2Error; }
fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *v) { return fmi2Error; }
fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer *v) { return fmi2Error; }
fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *v) { return fmi2Error; }
fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String *v) { return fmi2Error; }
