// instinct's WGSL interpreter of instmodel blobs (layout version 2, opcodes 13 and 14 ours),
// with instmodel's function names. The including shader passes a
// `var compute_buffer: array<f32, MAX_COMPUTE_BUFFER>` per invocation, zeroed as WGSL zeroes
// function variables; it writes the features to compute_buffer[0..], calls
// predict(model_offset, &compute_buffer) and reads get_output_size values from get_output_start.

const HEADER_MAGIC: u32 = 0u;
const HEADER_VERSION: u32 = 1u;
const HEADER_FEATURE_SIZE: u32 = 2u;
const HEADER_OUTPUT_SIZE: u32 = 3u;
const HEADER_COMPUTE_BUFFER_SIZE: u32 = 4u;
const HEADER_INSTRUCTION_COUNT: u32 = 5u;
const HEADER_INSTRUCTIONS_OFFSET: u32 = 6u;
const HEADER_WEIGHTS_OFFSET: u32 = 7u;
const HEADER_WEIGHTS_COUNT: u32 = 8u;
const HEADER_PARAMS_OFFSET: u32 = 9u;
const HEADER_PARAMS_COUNT: u32 = 10u;
const HEADER_OUTPUT_START: u32 = 11u;
const HEADER_FULL_MODEL_SIZE: u32 = 12u;

const INST_OPCODE: u32 = 0u;
const INST_INPUT_PTR: u32 = 1u;
const INST_OUTPUT_PTR: u32 = 2u;
const INST_DATA_SIZE: u32 = 3u;
const INST_PARAM0: u32 = 4u;
const INST_PARAM1: u32 = 5u;
const INST_PARAM2: u32 = 6u;
const INST_RESERVED: u32 = 7u;

const OPCODE_DOT: u32 = 1u;
const OPCODE_ACTIVATION: u32 = 2u;
const OPCODE_ELEM_WISE_ADD: u32 = 3u;
const OPCODE_ELEM_WISE_MUL: u32 = 4u;
const OPCODE_COPY: u32 = 5u;
const OPCODE_COPY_MASKED: u32 = 6u;
const OPCODE_CLIP_ELEMENTWISE: u32 = 7u;
const OPCODE_ELEM_WISE_BUFFERS_ADD: u32 = 8u;
const OPCODE_ELEM_WISE_BUFFERS_MUL: u32 = 9u;
const OPCODE_MULTIPLY_BUFFER_HEADS: u32 = 10u;
const OPCODE_ADD_BUFFER_HEADS: u32 = 11u;
const OPCODE_REDUCE_SUM: u32 = 12u;
const OPCODE_MAP_TRANSFORM: u32 = 13u;
const OPCODE_ATTENTION: u32 = 14u;

fn read_header_u32(model_offset: u32, field_index: u32) -> u32 {
    return bitcast<u32>(model_data[model_offset + field_index]);
}

fn read_instruction_u32(model_offset: u32, inst_base: u32, field_offset: u32) -> u32 {
    return bitcast<u32>(model_data[model_offset + inst_base + field_offset]);
}

fn get_feature_size(model_offset: u32) -> u32 {
    return read_header_u32(model_offset, HEADER_FEATURE_SIZE);
}

fn get_output_size(model_offset: u32) -> u32 {
    return read_header_u32(model_offset, HEADER_OUTPUT_SIZE);
}

fn get_compute_buffer_size(model_offset: u32) -> u32 {
    return read_header_u32(model_offset, HEADER_COMPUTE_BUFFER_SIZE);
}

fn get_output_start(model_offset: u32) -> u32 {
    return read_header_u32(model_offset, HEADER_OUTPUT_START);
}

fn get_full_model_size(model_offset: u32) -> u32 {
    return read_header_u32(model_offset, HEADER_FULL_MODEL_SIZE);
}

// The two parameter words of an extension activation that takes them (their position in the
// parameters region is the instruction's last word); zeros for every other activation.
fn activation_parameters(model_offset: u32, params_offset: u32, activation_type: u32, at: u32) -> vec2<f32> {
    if !activation_takes_parameters(activation_type) {
        return vec2<f32>(0.0, 0.0);
    }
    let p = model_offset + params_offset + at;
    return vec2<f32>(model_data[p], model_data[p + 1u]);
}

// Runs every instruction of the model at `model_offset` on `compute_buffer`.
fn predict(model_offset: u32, compute_buffer: ptr<function, array<f32, MAX_COMPUTE_BUFFER>>) {
    let instruction_count = read_header_u32(model_offset, HEADER_INSTRUCTION_COUNT);
    let instructions_offset = read_header_u32(model_offset, HEADER_INSTRUCTIONS_OFFSET);
    let weights_offset = read_header_u32(model_offset, HEADER_WEIGHTS_OFFSET);
    let params_offset = read_header_u32(model_offset, HEADER_PARAMS_OFFSET);
    for (var n: u32 = 0u; n < instruction_count; n = n + 1u) {
        let base = instructions_offset + n * 8u;
        let opcode = read_instruction_u32(model_offset, base, INST_OPCODE);
        let input_ptr = read_instruction_u32(model_offset, base, INST_INPUT_PTR);
        let output_ptr = read_instruction_u32(model_offset, base, INST_OUTPUT_PTR);
        let data_size = read_instruction_u32(model_offset, base, INST_DATA_SIZE);
        let param0 = read_instruction_u32(model_offset, base, INST_PARAM0);
        let param1 = read_instruction_u32(model_offset, base, INST_PARAM1);
        let param2 = read_instruction_u32(model_offset, base, INST_PARAM2);
        switch opcode {
            case OPCODE_DOT: {
                let p = activation_parameters(model_offset, params_offset, param2, read_instruction_u32(model_offset, base, INST_RESERVED));
                execute_dot(model_offset, compute_buffer, input_ptr, output_ptr, data_size, weights_offset + param0, param1, param2, p);
            }
            case OPCODE_ACTIVATION: {
                let p = activation_parameters(model_offset, params_offset, param2, read_instruction_u32(model_offset, base, INST_RESERVED));
                execute_activation(compute_buffer, input_ptr, data_size, param2, p);
            }
            case OPCODE_ELEM_WISE_ADD: {
                execute_elem_wise_add(model_offset, compute_buffer, input_ptr, data_size, params_offset + param0);
            }
            case OPCODE_ELEM_WISE_MUL: {
                execute_elem_wise_mul(model_offset, compute_buffer, input_ptr, data_size, params_offset + param0);
            }
            case OPCODE_COPY: {
                execute_copy(compute_buffer, input_ptr, output_ptr, data_size);
            }
            case OPCODE_COPY_MASKED: {
                execute_copy_masked(model_offset, compute_buffer, output_ptr, data_size, params_offset + param0);
            }
            case OPCODE_CLIP_ELEMENTWISE: {
                execute_clip_elementwise(model_offset, compute_buffer, input_ptr, data_size, params_offset, param0, param1);
            }
            case OPCODE_ELEM_WISE_BUFFERS_ADD: {
                execute_elem_wise_buffers_add(model_offset, compute_buffer, output_ptr, data_size, params_offset + param0, param1);
            }
            case OPCODE_ELEM_WISE_BUFFERS_MUL: {
                execute_elem_wise_buffers_mul(model_offset, compute_buffer, output_ptr, data_size, params_offset + param0, param1);
            }
            case OPCODE_MULTIPLY_BUFFER_HEADS: {
                execute_multiply_buffer_heads(compute_buffer, input_ptr, output_ptr, data_size, param0, param1);
            }
            case OPCODE_ADD_BUFFER_HEADS: {
                execute_add_buffer_heads(compute_buffer, input_ptr, output_ptr, data_size, param0, param1);
            }
            case OPCODE_REDUCE_SUM: {
                execute_reduce_sum(compute_buffer, input_ptr, output_ptr, data_size);
            }
            case OPCODE_MAP_TRANSFORM: {
                execute_map_transform(model_offset, compute_buffer, input_ptr, output_ptr, data_size, params_offset, param0, param1, param2);
            }
            case OPCODE_ATTENTION: {
                execute_attention(model_offset, compute_buffer, input_ptr, output_ptr, data_size, weights_offset + param0, param1, param2);
            }
            default: {}
        }
    }
}
