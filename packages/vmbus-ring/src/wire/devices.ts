/** The echo device's interface type (pvlab's own GUID; no Hyper-V device uses it). */
export const ECHO_DEVICE_INTERFACE_TYPE = '8c2eaf3d-32a7-4b09-ab99-bd1f1c86b501';
