/* A Vulkan layer that lets SAPIEN 2 start on Mesa lavapipe: it reports VK_KHR_external_semaphore_fd
 * (which svulkan2 asks for, for CUDA interop, and lavapipe lacks) and drops it again at vkCreateDevice. */
#include <stdlib.h>
#include <string.h>
#include <vulkan/vk_layer.h>
#include <vulkan/vulkan.h>

#define FAKE_EXT "VK_KHR_external_semaphore_fd"
#define EXPORT __attribute__((visibility("default")))

static PFN_vkGetInstanceProcAddr next_gipa;
static PFN_vkGetDeviceProcAddr next_gdpa;
static PFN_vkEnumerateDeviceExtensionProperties next_enum;
static PFN_vkCreateDevice next_create_device;

static VkResult VKAPI_CALL layer_CreateInstance(const VkInstanceCreateInfo *ci, const VkAllocationCallbacks *a,
                                                VkInstance *inst) {
    VkLayerInstanceCreateInfo *li = (VkLayerInstanceCreateInfo *)ci->pNext;
    while (li && !(li->sType == VK_STRUCTURE_TYPE_LOADER_INSTANCE_CREATE_INFO && li->function == VK_LAYER_LINK_INFO))
        li = (VkLayerInstanceCreateInfo *)li->pNext;
    if (!li) return VK_ERROR_INITIALIZATION_FAILED;
    next_gipa = li->u.pLayerInfo->pfnNextGetInstanceProcAddr;
    li->u.pLayerInfo = li->u.pLayerInfo->pNext;
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)next_gipa(VK_NULL_HANDLE, "vkCreateInstance");
    VkResult r = create(ci, a, inst);
    if (r == VK_SUCCESS) {
        next_enum = (PFN_vkEnumerateDeviceExtensionProperties)next_gipa(*inst, "vkEnumerateDeviceExtensionProperties");
        next_create_device = (PFN_vkCreateDevice)next_gipa(*inst, "vkCreateDevice");
    }
    return r;
}

static VkResult VKAPI_CALL layer_EnumerateDeviceExtensionProperties(VkPhysicalDevice pd, const char *layer,
                                                                    uint32_t *count, VkExtensionProperties *props) {
    if (layer && strcmp(layer, "VK_LAYER_VLASER_lavapipe_compat") == 0) { *count = 0; return VK_SUCCESS; }
    uint32_t n = 0;
    VkResult r = next_enum(pd, layer, &n, NULL);
    if (r != VK_SUCCESS) return r;
    VkExtensionProperties *all = calloc(n + 1, sizeof *all);
    r = next_enum(pd, layer, &n, all);
    int have = 0;
    for (uint32_t i = 0; i < n; i++) have |= strcmp(all[i].extensionName, FAKE_EXT) == 0;
    if (!have && !layer) { strcpy(all[n].extensionName, FAKE_EXT); all[n].specVersion = 1; n++; }
    if (!props) { *count = n; free(all); return VK_SUCCESS; }
    uint32_t m = *count < n ? *count : n;
    memcpy(props, all, m * sizeof *all);
    *count = m;
    free(all);
    return m < n ? VK_INCOMPLETE : VK_SUCCESS;
}

static VkResult VKAPI_CALL layer_CreateDevice(VkPhysicalDevice pd, const VkDeviceCreateInfo *ci,
                                              const VkAllocationCallbacks *a, VkDevice *dev) {
    VkLayerDeviceCreateInfo *li = (VkLayerDeviceCreateInfo *)ci->pNext;
    while (li && !(li->sType == VK_STRUCTURE_TYPE_LOADER_DEVICE_CREATE_INFO && li->function == VK_LAYER_LINK_INFO))
        li = (VkLayerDeviceCreateInfo *)li->pNext;
    if (!li) return VK_ERROR_INITIALIZATION_FAILED;
    PFN_vkGetInstanceProcAddr gipa = li->u.pLayerInfo->pfnNextGetInstanceProcAddr;
    next_gdpa = li->u.pLayerInfo->pfnNextGetDeviceProcAddr;
    li->u.pLayerInfo = li->u.pLayerInfo->pNext;
    PFN_vkCreateDevice create = (PFN_vkCreateDevice)gipa(VK_NULL_HANDLE, "vkCreateDevice");
    VkDeviceCreateInfo copy = *ci;
    const char **names = calloc(ci->enabledExtensionCount + 1, sizeof *names);
    uint32_t k = 0;
    for (uint32_t i = 0; i < ci->enabledExtensionCount; i++)
        if (strcmp(ci->ppEnabledExtensionNames[i], FAKE_EXT) != 0) names[k++] = ci->ppEnabledExtensionNames[i];
    copy.enabledExtensionCount = k;
    copy.ppEnabledExtensionNames = names;
    VkResult r = create(pd, &copy, a, dev);
    free(names);
    return r;
}

EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vlaser_GetDeviceProcAddr(VkDevice d, const char *name) {
    if (strcmp(name, "vkGetDeviceProcAddr") == 0) return (PFN_vkVoidFunction)vlaser_GetDeviceProcAddr;
    return next_gdpa(d, name);
}

EXPORT VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vlaser_GetInstanceProcAddr(VkInstance inst, const char *name) {
    if (strcmp(name, "vkGetInstanceProcAddr") == 0) return (PFN_vkVoidFunction)vlaser_GetInstanceProcAddr;
    if (strcmp(name, "vkCreateInstance") == 0) return (PFN_vkVoidFunction)layer_CreateInstance;
    if (strcmp(name, "vkCreateDevice") == 0) return (PFN_vkVoidFunction)layer_CreateDevice;
    if (strcmp(name, "vkEnumerateDeviceExtensionProperties") == 0)
        return (PFN_vkVoidFunction)layer_EnumerateDeviceExtensionProperties;
    if (strcmp(name, "vkGetDeviceProcAddr") == 0) return (PFN_vkVoidFunction)vlaser_GetDeviceProcAddr;
    return next_gipa(inst, name);
}
